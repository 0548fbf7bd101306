"""A private Oracle MySQL server (the tree provision-mysql.sh unpacked from
Debian sid), configured like a managed MySQL 8.0 server; and a user's own
MySQL server reached by URL.

`MySQLServer` owns a data directory, a random loopback TCP port and a unix
socket, like `MariaDBServer`. The configuration is what managed 8.0 servers
run with and what changes a dump: GTIDs on (`gtid_mode=ON`,
`enforce_gtid_consistency=ON`), the binary log on, `utf8mb4_0900_ai_ci` the
default collation. Buffers are small (16M buffer pool, no performance schema,
no X plugin): about 160 MB of RSS. MySQL 9.7 has no `mysql_native_password`;
root uses `caching_sha2_password`, which pymysql completes without TLS through
the `cryptography` package (RSA key exchange) and the MySQL clients over TLS
(the server generates its certificates at initialisation).

A fresh datadir is copied from a template initialised once per cache and
version (`--initialize-insecure` takes seconds more than a copy).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pymysql

from tests.localcluster.dbserver import (
    Connection,
    Family,
    connect_tcp,
    load_with_client,
    server_version,
)
from tests.localcluster.mysql_tree import mysql_tool, mysql_tree
from tests.localcluster.serverproc import ChildServer, free_port, port_accepts

_MAX_SOCKET_PATH = 100
# The redo log must hold ten times the largest BLOB written in one
# transaction (InnoDB refuses the row otherwise); the seeder writes one over 16 MiB.
_REDO_CAPACITY = "256M"


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _user_args() -> list[str]:
    return ["--user=root"] if _running_as_root() else []


class MySQLServer(ChildServer):
    """A private mysqld; use as a context manager or call `start()`/`stop()`.
    `kill()` crashes it and a later `start()` recovers the datadir."""

    LOG_NAME = "mysqld.log"
    STOP_GRACE = 30.0

    root_user = "root"
    host = "127.0.0.1"
    family: Family = "mysql"

    def __init__(self, workdir: Path | None = None, *, port: int | None = None,
                 root_password: str | None = None, buffer_pool: str = "16M") -> None:
        super().__init__(workdir, "tenant-exit-mysql-")
        self.datadir = self.workdir / "data"
        self.files = self.workdir / "files"
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
    def start(self, timeout: float = 90.0) -> MySQLServer:
        if self.running():
            return self
        first_start = not (self.datadir / "mysql.ibd").is_file()
        if first_start:
            _copy_template(self.datadir)
        self.files.mkdir(parents=True, exist_ok=True)
        process = self._launch("mysqld", self._server_argv())
        try:
            process.wait_until(
                lambda: os.path.exists(self.socket) and port_accepts(self.host, self.port),
                timeout,
                "accepting connections",
            )
            if first_start:
                self._secure_root()
            self.version = server_version(self)
        except BaseException:
            self.stop()
            raise
        return self

    # -- clients --------------------------------------------------------
    def connect(self, database: str | None = None, user: str | None = None,
                password: str | None = None, **kwargs: Any) -> Connection:
        return connect_tcp(self, database, user, password, **kwargs)

    @property
    def client_tool(self) -> str:
        return mysql_tool("mysql")

    @property
    def dump_tool(self) -> str:
        return mysql_tool("mysqldump")

    def load_sql(self, schema: str, sql: bytes, *, collation: str | None = None) -> None:
        load_with_client(self, schema, sql, collation)

    # -- internals ------------------------------------------------------
    def _server_argv(self) -> list[str]:
        return [
            mysql_tool("mysqld"),
            "--no-defaults",
            f"--datadir={self.datadir}",
            *_user_args(),
            f"--bind-address={self.host}",
            f"--port={self.port}",
            f"--socket={self.socket}",
            f"--pid-file={self.workdir / 'mysqld.pid'}",
            f"--log-error={self.workdir / self.LOG_NAME}",
            f"--secure-file-priv={self.files}",
            "--skip-name-resolve",
            # What managed MySQL 8.0 servers run with, and what a dump must handle.
            "--server-id=1",
            f"--log-bin={self.datadir / 'binlog'}",
            "--gtid-mode=ON",
            "--enforce-gtid-consistency=ON",
            "--binlog-expire-logs-seconds=3600",
            # Small and disposable.
            f"--innodb-buffer-pool-size={self.buffer_pool}",
            f"--innodb-redo-log-capacity={_REDO_CAPACITY}",
            "--performance-schema=OFF",
            "--mysqlx=OFF",
            "--innodb-flush-log-at-trx-commit=2",
            "--sync-binlog=0",
            "--innodb-doublewrite=OFF",
            "--max-allowed-packet=64M",
            "--max-connections=200",
            "--event-scheduler=OFF",
        ]

    def _secure_root(self) -> None:
        # The template's root@localhost has no password and matches only the
        # socket under --skip-name-resolve: give it one, and add root@127.0.0.1
        # (TCP, as the Jobs connect) with the same privileges.
        conn = pymysql.connect(unix_socket=self.socket, user=self.root_user, password="",
                               charset="utf8mb4", autocommit=True)
        with conn, conn.cursor() as cur:
            cur.execute("ALTER USER 'root'@'localhost' IDENTIFIED BY %s", (self.root_password,))
            cur.execute("CREATE USER 'root'@'127.0.0.1' IDENTIFIED BY %s", (self.root_password,))
            cur.execute("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION")
            cur.execute("GRANT PROXY ON ''@'' TO 'root'@'127.0.0.1' WITH GRANT OPTION")


def _template_dir() -> Path:
    return mysql_tree().parent / f"{mysql_tree().name}-datadir"


def _copy_template(datadir: Path) -> None:
    """A fresh datadir: a copy of one initialised datadir per cache and version,
    made on first use under a lock (parallel sessions wait for the first)."""
    template = _template_dir()
    with open(template.parent / f"{template.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (template / "mysql.ibd").is_file():
            _initialize(template)
    shutil.copytree(template, datadir, symlinks=True)
    # The template's server UUID must not be shared by every server.
    (datadir / "auto.cnf").unlink(missing_ok=True)


def _initialize(template: Path) -> None:
    staging = template.with_name(template.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    log = template.with_name(template.name + "-initialize.log")
    argv = [mysql_tool("mysqld"), "--no-defaults", f"--datadir={staging}", *_user_args(),
            "--initialize-insecure", f"--innodb-redo-log-capacity={_REDO_CAPACITY}",
            "--innodb-buffer-pool-size=16M", f"--log-error={log}"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else result.stderr
        raise RuntimeError(f"mysqld --initialize-insecure failed ({result.returncode}):\n{tail}")
    shutil.rmtree(template, ignore_errors=True)
    staging.rename(template)


class ExternalMySQLServer:
    """A user's own MySQL server, from `mysql://user:password@host:port`
    (TENANT_EXIT_TEST_MYSQL_URL). The harness neither starts nor stops it; the
    account needs to create and drop schemas and accounts. MySQL's client tools
    are still the provisioned ones."""

    family: Family = "mysql"

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "mysql" or not parts.hostname or not parts.username:
            raise ValueError("TENANT_EXIT_TEST_MYSQL_URL must look like "
                             "mysql://user:password@host:port")
        self.host = parts.hostname
        self.port = parts.port or 3306
        self.root_user = unquote(parts.username)
        self.root_password = unquote(parts.password or "")
        self.version = server_version(self)

    def connect(self, database: str | None = None, user: str | None = None,
                password: str | None = None, **kwargs: Any) -> Connection:
        return connect_tcp(self, database, user, password, **kwargs)

    @property
    def client_tool(self) -> str:
        return mysql_tool("mysql")

    @property
    def dump_tool(self) -> str:
        return mysql_tool("mysqldump")

    def load_sql(self, schema: str, sql: bytes, *, collation: str | None = None) -> None:
        load_with_client(self, schema, sql, collation)

    def stop(self) -> None:
        """Nothing to stop: the server is the user's."""
