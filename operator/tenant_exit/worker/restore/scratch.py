"""The scratch server beside the worker: found on its unix socket, loaded through
its own family's plain `mysql` client (the client the archive is made for).

The sidecar is a fresh server whose root has no password and which listens on
the pod's unix socket only (--skip-networking), so only this pod reaches it.
Root loads the dump unchanged: it may create objects with any DEFINER (SUPER,
SET_USER_ID / SET_ANY_DEFINER), so definers are kept and compared as they are;
an account named as definer need not exist (the server warns, nothing fails).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pymysql

from tenant_exit.mysql.connect import Connection
from tenant_exit.mysql.names import quote_identifier
from tenant_exit.mysql.server import ServerInfo, read_server
from tenant_exit.worker.processes import StderrTail, stop, widen_pipe
from tenant_exit.worker.restore.errors import RestoreLoadFailed, RestoreUnavailable
from tenant_exit.worker.restore.locator import DumpLocator

_CLIENT_ERROR = re.compile(r"ERROR (\d+) \(([0-9A-Z]{5})\)(?: at line (\d+))?")
_SECRETS = ("TENANT_EXIT_DB_PASSWORD", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "MYSQL_PWD")


class ScratchServer:
    def __init__(self, socket: Path, client: str) -> None:
        self.socket = socket
        self.client = client
        """The family's own command-line client (`mysql` / `mariadb`)."""

    def connect(self, database: str | None = None) -> Connection:
        conn: Connection = pymysql.connect(unix_socket=str(self.socket), user="root",
                                           password="", database=database, charset="utf8mb4",
                                           autocommit=True, read_timeout=3600)
        return conn

    def wait(self, timeout: float) -> ServerInfo:
        """The server, once it accepts connections (the sidecar starts beside us and
        initialises its datadir first)."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with self.connect() as conn:
                    return read_server(conn)
            except (pymysql.err.MySQLError, OSError) as err:
                last = err
                time.sleep(0.5)
        number = last.args[0] if last is not None and last.args else "none"
        raise RestoreUnavailable(f"the scratch server did not accept connections on its socket "
                                 f"within {timeout:.0f} s (last error {number})")

    def create_schema(self, schema: str, charset: str, collation: str) -> None:
        name = quote_identifier(schema)
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
            options = f" CHARACTER SET {charset}" if charset else ""
            options += f" COLLATE {collation}" if collation else ""
            cur.execute(f"CREATE DATABASE {name}{options}")

    def drop_schema(self, schema: str) -> None:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {quote_identifier(schema)}")

    def loader(self, schema: str) -> ScratchLoader:
        return ScratchLoader(self, schema)


class ScratchLoader:
    """A plaintext observer: the dump of one schema into the scratch server's client."""

    def __init__(self, server: ScratchServer, schema: str) -> None:
        self.schema = schema
        self.locator = DumpLocator()
        self.seconds = 0.0
        self._started = time.monotonic()
        env = {k: v for k, v in os.environ.items() if k not in _SECRETS}
        argv = [server.client, f"--socket={server.socket}", "--user=root",
                "--default-character-set=utf8mb4", "--max-allowed-packet=1G",
                "--batch", schema]
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env, close_fds=True)
        assert self._proc.stdin is not None
        widen_pipe(self._proc.stdin.fileno())
        self._stderr = StderrTail(self._proc)

    def write(self, chunk: bytes) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self.locator.write(chunk)
        try:
            self._proc.stdin.write(chunk)
        except BrokenPipeError:
            # The client stopped reading: it failed on a statement.
            self._fail()

    def close(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.close()
        except BrokenPipeError:
            pass
        if self._proc.wait() != 0:
            self._fail()
        self.seconds = time.monotonic() - self._started
        self._proc = None

    def abort(self) -> None:
        stop(self._proc)

    def _fail(self) -> None:
        assert self._proc is not None
        with_code = self._proc.wait()
        found = _CLIENT_ERROR.search(self._stderr.text())
        self._proc = None
        if found is None:
            raise RestoreLoadFailed(f"restore of schema '{self.schema}' into the scratch server "
                                    f"failed: its client exited with {with_code}")
        code, state, line = found[1], found[2], found[3]
        where = (f" at line {line} of the dump, in {self.locator.where(int(line))}"
                 if line else "")
        raise RestoreLoadFailed(
            f"restore of schema '{self.schema}' into the scratch server failed{where}: "
            f"ERROR {code} ({state}) (the statement's text is left out: it can hold "
            "client data)")
