"""A private MariaDB server from Debian's packages, for tests and the demo.

Each `MariaDBServer` owns a data directory, a random loopback TCP port and a
unix socket; nothing touches the system's own MariaDB service or its config
files (`--no-defaults`). The server is tuned for disposable data: a small
buffer pool, no doublewrite, no binlog and a lazy log flush, so a cold start
(including `mariadb-install-db`) takes a few seconds.

Life cycle: `start()` initialises the datadir on first use and sets the root
password; a later `start()` (after `stop()` or `kill()`) reuses the same datadir,
port and socket, so tests can restart the database under a client. `stop()`
shuts down by PID (SIGTERM, wait, SIGKILL); it also runs from `__exit__` and
from atexit, so an aborted test session leaves no server behind.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pymysql

from tests.localcluster.dbserver import Connection, Family, connect_tcp, load_with_client
from tests.localcluster.serverproc import ChildServer, free_port, port_accepts
from tests.localcluster.tools import find_binary

# Unix socket paths are limited to 108 bytes (sun_path) on Linux.
_MAX_SOCKET_PATH = 100


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


class MariaDBServer(ChildServer):
    """A private mariadbd; use as a context manager or call `start()`/`stop()`.

    `stop()` is a clean shutdown (InnoDB flushes on SIGTERM); `kill()` crashes the
    server and a later `start()` recovers the datadir."""

    LOG_NAME = "mariadbd.log"
    STOP_GRACE = 30.0

    root_user = "root"
    host = "127.0.0.1"
    family: Family = "mariadb"

    def __init__(self, workdir: Path | None = None, *, port: int | None = None,
                 root_password: str | None = None, buffer_pool: str = "128M") -> None:
        super().__init__(workdir, "tenant-exit-mariadb-")
        self.datadir = self.workdir / "data"
        self.socket = str(self.workdir / "mysqld.sock")
        if len(self.socket) > _MAX_SOCKET_PATH:
            raise ValueError(
                f"unix socket path {self.socket!r} is too long for sun_path; "
                "use a shorter workdir (or TMPDIR)"
            )
        self.port = port or free_port()
        self.root_password = root_password or secrets.token_urlsafe(18)
        self.buffer_pool = buffer_pool
        self.version = ""

    # -- life cycle -----------------------------------------------------
    def start(self, timeout: float = 60.0) -> MariaDBServer:
        if self.running():
            return self
        first_start = not (self.datadir / "mysql").is_dir()
        if first_start:
            self._install_db()
        process = self._launch("mariadbd", self._server_argv())
        try:
            process.wait_until(
                lambda: os.path.exists(self.socket) and port_accepts(self.host, self.port),
                timeout,
                "accepting connections",
            )
            if first_start:
                self._secure_root()
            with self.connect() as conn, conn.cursor() as cur:
                cur.execute("SELECT VERSION()")
                row = cur.fetchone()
                self.version = str(row[0]) if row else ""
        except BaseException:
            self.stop()
            raise
        return self

    # -- clients --------------------------------------------------------
    def connect(self, database: str | None = None, user: str | None = None,
                password: str | None = None, **kwargs: Any) -> Connection:
        """A pymysql connection over TCP (as the product's Jobs connect), utf8mb4.

        Without `user` this is root with the root password.
        """
        return connect_tcp(self, database, user, password, **kwargs)

    @property
    def client_tool(self) -> str:
        return find_binary("mariadb", package="mariadb-client")

    @property
    def dump_tool(self) -> str:
        return find_binary("mariadb-dump", package="mariadb-client")

    def load_sql(self, schema: str, sql: bytes, *, collation: str | None = None) -> None:
        load_with_client(self, schema, sql, collation)

    def client_env(self) -> dict[str, str]:
        """Environment for the `mariadb`/`mariadb-dump` command-line clients."""
        return {"MYSQL_HOST": self.host, "MYSQL_TCP_PORT": str(self.port),
                "MYSQL_PWD": self.root_password, "USER": self.root_user}

    # -- internals ------------------------------------------------------
    def _user_args(self) -> list[str]:
        # mariadbd refuses to run as root unless told to; as non-root the files
        # simply belong to the current user.
        return ["--user=root"] if _running_as_root() else []

    def _tmpdir(self) -> Path:
        tmp = self.workdir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    def _install_db(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        install = find_binary("mariadb-install-db", "mysql_install_db")
        argv = [
            install,
            "--no-defaults",
            f"--datadir={self.datadir}",
            *self._user_args(),
            # Root starts password-less (socket and TCP); _secure_root sets one.
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
            # Its own tmpdir: bootstraps that run side by side (test processes) clash
            # on `#sql-temptable-*` names in a shared /tmp (ERROR 1051 on mysql.tmp_user_sys).
            f"--tmpdir={self._tmpdir()}",
        ]
        server = find_binary("mariadbd", "mysqld")
        basedir = Path(server).resolve().parent.parent
        if (basedir / "share").is_dir():
            argv.append(f"--basedir={basedir}")
        log = self.workdir / "install-db.log"
        with log.open("wb") as out:
            result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=120,
                                    check=False)
        if result.returncode != 0:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"mariadb-install-db failed ({result.returncode}):\n{tail}")

    def _server_argv(self) -> list[str]:
        return [
            find_binary("mariadbd", "mysqld"),
            "--no-defaults",
            f"--datadir={self.datadir}",
            *self._user_args(),
            f"--bind-address={self.host}",
            f"--port={self.port}",
            f"--socket={self.socket}",
            f"--pid-file={self.workdir / 'mariadbd.pid'}",
            f"--log-error={self.workdir / 'mariadbd.log'}",
            f"--tmpdir={self._tmpdir()}",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--performance-schema=OFF",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            # Disposable test data: trade durability for speed.
            f"--innodb-buffer-pool-size={self.buffer_pool}",
            "--innodb-log-file-size=64M",
            "--innodb-flush-log-at-trx-commit=2",
            "--innodb-doublewrite=0",
            # The seeder sends large multi-row INSERTs and BLOBs.
            "--max-allowed-packet=64M",
            "--max-connections=200",
            "--event-scheduler=OFF",
        ]

    def _secure_root(self) -> None:
        # Fresh datadir: root has no password. Connect over the socket, set one
        # for every loopback root account and drop the hostname-bound one
        # (useless under --skip-name-resolve, and noisy in the log).
        conn = pymysql.connect(unix_socket=self.socket, user=self.root_user, password="",
                               charset="utf8mb4", autocommit=True)
        with conn, conn.cursor() as cur:
            cur.execute("SELECT host FROM mysql.user WHERE user = 'root'")
            hosts = [str(r[0]) for r in cur.fetchall()]
            for host in hosts:
                if host in ("localhost", "127.0.0.1", "::1"):
                    cur.execute("ALTER USER 'root'@%s IDENTIFIED BY %s", (host, self.root_password))
                else:
                    cur.execute("DROP USER 'root'@%s", (host,))
            cur.execute("FLUSH PRIVILEGES")

