"""The database source: one mysqldump process per schema, checked for completeness.

Flags, and why:
- `--single-transaction`: a consistent InnoDB snapshot without locking tables
  (it turns `--lock-tables` off); consistent only while no DDL runs, which the
  read-only licence guarantees.
- `--quick`: stream rows (mysql_use_result) instead of buffering whole tables in
  the client.
- `--routines --triggers --events`: the schema's code is part of the record.
- `--hex-blob`: binary columns as hex literals, safe through any text tool.
- `--no-tablespaces`: MySQL >= 8.0.21 otherwise needs the PROCESS privilege.
- `--default-character-set=utf8mb4`: no silent loss of non-BMP characters.
- `--max-allowed-packet=1G`: rows with large documents in BLOBs.
- The schema is passed without `--databases`, so the dump has no
  `CREATE DATABASE`/`USE` and loads into any schema the customer chooses.
- MySQL's own client (`clients.py` picks it for a MySQL server) also gets,
  when its `--help` lists them:
  - `--set-gtid-purged=OFF`: no `SET @@GLOBAL.GTID_PURGED` in the dump. With
    GTIDs on (the default of managed 8.0+ servers) that statement fails on the
    customer's server (ERROR 3546), and with AUTO/ON mysqldump >= 8.0.32 also
    takes FLUSH TABLES WITH READ LOCK (RELOAD) to read gtid_executed
    consistently (MySQL bug 33630199).
  - `--column-statistics=0`: 8.0 clients otherwise query
    information_schema.COLUMN_STATISTICS, which 5.7 servers lack ("Unknown
    table 'COLUMN_STATISTICS'"), and write ANALYZE ... UPDATE HISTOGRAM
    statements; clients without the option (9.x) do neither.
  - `--get-server-public-key`: `caching_sha2_password` accounts (the default
    since 8.0, the only one in 9.x) over a connection without TLS need the
    server's RSA key; over TLS the option is unused.
  Generated invisible primary keys (8.0.30+) are dumped as they are (no
  `--skip-generated-invisible-primary-key`): the archive is the table as stored.
The password reaches mysqldump only through MYSQL_PWD in its environment — not
argv, which every process on the node can read in /proc.

mysqldump writes `-- Dump completed` as its last line only when it finished;
a stream without it is truncated even if the exit status was lost.

The first line MariaDB's dump tool writes, `/*M!999999\\- enable the sandbox
mode */`, is removed in the stream (`sandbox_line`): MySQL's client rejects it.

Privileges of the dump account (checked before the dump by `privileges`, because
mysqldump leaves out what the account cannot see WITHOUT an error):
- SELECT on the schema: table data, and the schema is visible at all.
- SHOW VIEW: `SHOW CREATE VIEW` (mysqldump fails without it).
- TRIGGER: `SHOW TRIGGERS` lists only triggers on tables the account holds
  TRIGGER on; without it the triggers are silently missing from the dump.
- EVENT: `SHOW EVENTS` for `--events` (mysqldump fails with "Access denied ...
  to database" without it).
- Routines (`--routines`): MariaDB and MySQL 5.7 show another definer's routine
  bodies only with SELECT on `mysql.proc` (MariaDB >= 11.3 also: SHOW CREATE
  ROUTINE); MySQL 8.0 has no `mysql.proc` and needs SHOW_ROUTINE (8.0.20+) or
  global SELECT. Without it the routines are silently missing (or, with only
  EXECUTE, mysqldump fails on "insufficient privileges to SHOW CREATE").
Not needed: LOCK TABLES (`--single-transaction` takes no table locks), PROCESS
(`--no-tablespaces`), RELOAD (no `--master-data`/`--flush-logs`; MySQL's
mysqldump issues FLUSH TABLES WITH READ LOCK under `--single-transaction` only
for GTID servers when `--set-gtid-purged` is not OFF, and we pass OFF).
The read-only licence needs more than this on the same account (see the
TenantExit spec's `database.credentialsSecret`).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from tenant_exit.mysql.server import ServerFamily
from tenant_exit.worker.clients import DumpClient
from tenant_exit.worker.pipeline import PipelineError, PlainStats
from tenant_exit.worker.processes import StderrTail, read_chunks, spawn, stop
from tenant_exit.worker.sandbox_line import SANDBOX_LINE, SandboxLineFilter

TRAILER = b"-- Dump completed"


COMMON_OPTIONS = (
    "--single-transaction",
    "--quick",
    "--routines",
    "--triggers",
    "--events",
    "--hex-blob",
    "--no-tablespaces",
    "--default-character-set=utf8mb4",
    "--max-allowed-packet=1G",
)
MYSQL_OPTIONS = (
    ("--set-gtid-purged", "--set-gtid-purged=OFF"),
    ("--column-statistics", "--column-statistics=0"),
    ("--get-server-public-key", "--get-server-public-key"),
)
"""(option the client's --help must list, what we pass) for MySQL's mysqldump."""


def supports(help_text: str, option: str) -> bool:
    """True when `--help` lists `option` as an option line: indented by a few spaces,
    where the descriptions' continuation lines are indented by 22."""
    pattern = rf"^ {{1,4}}(?:-\w, )?{re.escape(option)}\b"
    return re.search(pattern, help_text, re.MULTILINE) is not None


def dump_options(client: DumpClient) -> list[str]:
    """The options recorded in the manifest (no host, user or password)."""
    options = list(COMMON_OPTIONS)
    if client.family is ServerFamily.MYSQL:
        options += [flag for option, flag in MYSQL_OPTIONS if supports(client.help_text, option)]
    return options


def dump_argv(client: DumpClient, *, host: str, port: int, user: str,
              schema: str, ignore_tables: list[str]) -> list[str]:
    """The full dump command for one schema; `ignore_tables` are table names."""
    argv = [client.path, f"--host={host}", f"--port={port}", f"--user={user}", "--protocol=TCP"]
    argv += dump_options(client)
    argv += [f"--ignore-table={schema}.{table}" for table in ignore_tables]
    argv.append(schema)
    return argv


def sandbox_line_note(schemas: list[str]) -> str:
    """The manifest's note for dumps whose sandbox line was removed."""
    return (f"The first line {SANDBOX_LINE.decode()} written by MariaDB's dump tool was "
            f"removed from the dump of schema(s) {', '.join(schemas)}: MySQL's mysql client "
            "rejects it (ERROR at line 1). It only switches MariaDB's client into sandbox "
            "mode (no shell commands while loading); load with `mariadb --sandbox` for the "
            "same effect. plaintextSha256 is of the dump as stored, without that line.")


def dump_is_complete(tail: bytes) -> bool:
    """True when the last non-empty line is mysqldump's completion trailer."""
    lines = [line for line in tail.splitlines() if line.strip()]
    return bool(lines) and lines[-1].startswith(TRAILER)


_NOISE = re.compile(r"^(mysqldump|mariadb-dump): \[Warning\].*$", re.MULTILINE)


def _clean_stderr(text: str) -> str:
    """mysqldump's error lines without deprecation warnings, on one line."""
    text = _NOISE.sub("", text)
    return " ".join(line.strip() for line in text.splitlines() if line.strip())[-600:]


@dataclass
class DumpProducer:
    """mysqldump of one schema as a pipeline producer."""

    argv: list[str]
    password: str
    schema: str
    label: str = ""

    def __post_init__(self) -> None:
        self.label = self.label or f"database-{self.schema}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: StderrTail | None = None
        self._sandbox = SandboxLineFilter()

    @property
    def sandbox_line_removed(self) -> bool:
        """Whether the dump began with MariaDB's sandbox line (removed from the stream)."""
        return self._sandbox.removed

    def start(self) -> None:
        env = dict(os.environ)
        env["MYSQL_PWD"] = self.password
        # Nothing of ours in the child's environment beyond what it needs.
        for key in ("TENANT_EXIT_DB_PASSWORD", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.pop(key, None)
        self._proc, self._stderr = spawn(self.argv, stdin=subprocess.DEVNULL, env=env)

    def chunks(self) -> Iterator[bytes]:
        assert self._proc is not None and self._proc.stdout is not None
        yield from self._sandbox(read_chunks(self._proc.stdout.fileno()))

    def finish(self, plain: PlainStats) -> None:
        assert self._proc is not None and self._stderr is not None
        code = self._proc.wait()
        if code != 0:
            raise PipelineError(
                f"mysqldump of schema '{self.schema}' failed (exit {code}): "
                f"{_clean_stderr(self._stderr.text()) or 'no error text'}")
        if plain.size == 0:
            raise PipelineError(f"mysqldump of schema '{self.schema}' produced no output")
        if not dump_is_complete(plain.tail):
            raise PipelineError(
                f"mysqldump of schema '{self.schema}' is truncated: the stream lacks the "
                f"'-- Dump completed' trailer ({plain.size} bytes read)")

    def kill(self) -> None:
        stop(self._proc)
