"""Which dump client dumps this server: the server's own family, found by name.

A MySQL server is dumped with MySQL's `mysqldump`, a MariaDB server with
`mariadb-dump`. Crossing families produces dumps that do not load back:
mariadb-dump writes the values of generated columns, which MySQL refuses
(ERROR 3105); MySQL's mysqldump writes `utf8mb4_0900_ai_ci` collations, which
MariaDB 10.11 does not know (ERROR 1273). So the server's family (`tenant_exit.mysql.server`)
picks the client, and a missing client is an error before any object is
written, never a fallback to the other family's.

Clients are found by name on PATH, or at the path a setting names
(TENANT_EXIT_MYSQL_DUMP_PATH, TENANT_EXIT_MARIADB_DUMP_PATH). The name alone
does not tell the family: Debian's mariadb-client installs `mysqldump` as
MariaDB's tool, so every candidate's `--version` is read, and its `--help`
decides the version-dependent flags (`dump.dump_options`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tenant_exit.mysql.server import ServerFamily, ServerInfo
from tenant_exit.worker.processes import ToolMissing, tool_output, tool_version

CLIENT_NAMES: dict[ServerFamily, tuple[str, ...]] = {
    ServerFamily.MARIADB: ("mariadb-dump", "mysqldump"),
    ServerFamily.MYSQL: ("mysqldump",),
}
"""Names searched on PATH, in order, for each family's dump client."""

OVERRIDE_SETTING: dict[ServerFamily, str] = {
    ServerFamily.MARIADB: "TENANT_EXIT_MARIADB_DUMP_PATH",
    ServerFamily.MYSQL: "TENANT_EXIT_MYSQL_DUMP_PATH",
}


@dataclass(frozen=True)
class DumpClient:
    """One dump client binary and what it says about itself."""

    path: str
    version: str
    """First line of `--version`, recorded in the manifest."""
    help_text: str = ""
    """`--help` output, from which the flags it supports are read."""

    @property
    def family(self) -> ServerFamily:
        return client_family(self.version)

    @property
    def name(self) -> str:
        return Path(self.path).name


def client_family(version_line: str) -> ServerFamily:
    """From `--version`: MariaDB's client says 'MariaDB' in it, MySQL's does not."""
    return ServerFamily.MARIADB if "mariadb" in version_line.lower() else ServerFamily.MYSQL


def choose_client(server: ServerInfo, candidates: list[DumpClient], *,
                  override: str | None = None) -> DumpClient:
    """The first candidate of the server's family, or ToolMissing saying what to do (pure)."""
    for client in candidates:
        if client.family is server.family:
            return client
    family = "MySQL" if server.family is ServerFamily.MYSQL else "MariaDB"
    wanted = " or ".join(f"`{n}`" for n in CLIENT_NAMES[server.family])
    found = "; ".join(f"{c.path} is {c.version}" for c in candidates) or "none found"
    where = f"at {override} (from {OVERRIDE_SETTING[server.family]})" if override else "on PATH"
    raise ToolMissing(
        f"the database server is {server.describe()}, which must be dumped with {family}'s own "
        f"dump client ({wanted}), but there is none {where} ({found}). A dump by the other "
        f"family's client does not load back into {family}. Use a worker image with "
        f"{family}'s client tools, or set {OVERRIDE_SETTING[server.family]} to its path; "
        "nothing was written.")


def probe(path: str, run: Callable[[list[str]], str] = tool_output) -> DumpClient:
    return DumpClient(path=path, version=tool_version([path, "--version"]),
                      help_text=run([path, "--help"]))


def find_client(server: ServerInfo, override: Path | None,
                which: Callable[[str], str | None] = shutil.which) -> DumpClient:
    """The dump client for `server`: at `override`, else by name on PATH."""
    if override is not None:
        if not (override.is_file() and shutil.which(str(override))):
            raise ToolMissing(
                f"{OVERRIDE_SETTING[server.family]}={override} is not an executable file; "
                "nothing was written")
        return choose_client(server, [probe(str(override))], override=str(override))
    paths: list[str] = []
    for name in CLIENT_NAMES[server.family]:
        found = which(name)
        if found and found not in paths:
            paths.append(found)
    return choose_client(server, [probe(p) for p in paths])
