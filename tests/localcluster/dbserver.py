"""What the tests need from a database server, whichever family runs it.

`MariaDBServer` (mariadb.py), `MySQLServer` and `ExternalMySQLServer`
(mysqlserver.py) implement this protocol; fixtures, tenants and the worker's
environment take a `DatabaseServer`, so a test written against it runs on
every family the `db_server` fixture is parametrized over.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any, Literal, Protocol, TypeAlias

import pymysql

Family = Literal["mariadb", "mysql"]
FAMILIES: tuple[Family, ...] = ("mariadb", "mysql")
Connection: TypeAlias = "pymysql.connections.Connection[Any]"


class DatabaseServer(Protocol):
    host: str
    port: int
    root_user: str
    root_password: str
    version: str

    @property
    def family(self) -> Family: ...

    @property
    def client_tool(self) -> str:
        """The family's own command-line client (`mariadb` / MySQL's `mysql`)."""
        ...

    @property
    def dump_tool(self) -> str:
        """The family's own dump client (`mariadb-dump` / MySQL's `mysqldump`)."""
        ...

    def connect(self, database: str | None = None, user: str | None = None,
                password: str | None = None, **kwargs: Any) -> Connection: ...

    def load_sql(self, schema: str, sql: bytes, *, collation: str | None = None) -> None:
        """Create `schema` (utf8mb4, in `collation` or the server's default)
        and load a dump into it with the family's plain command-line client,
        as the customer would."""
        ...


def connect_tcp(server: DatabaseServer, database: str | None, user: str | None,
                password: str | None, **kwargs: Any) -> Connection:
    """A pymysql connection over TCP (as the product's Jobs connect), utf8mb4.
    Without `user` this is root with the root password."""
    if user is None:
        user, password = server.root_user, server.root_password
    options: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "user": user,
        "password": password or "",
        "database": database,
        "charset": "utf8mb4",
        "connect_timeout": 10,
        "autocommit": True,
    }
    options.update(kwargs)
    return pymysql.connect(**options)


def load_with_client(server: DatabaseServer, schema: str, sql: bytes,
                     collation: str | None = None) -> None:
    """CREATE DATABASE, then pipe `sql` into `server.client_tool`. The packet
    limit is raised because a row with a BLOB over 16 MiB is one statement
    larger than the clients' 16 MiB default. The schema's default collation
    shows in SHOW CREATE TABLE (a column differing from it names its character
    set), so a comparison of definitions creates it like the source's."""
    collate = f" COLLATE {collation}" if collation else ""
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{schema}` CHARACTER SET utf8mb4{collate}")
    env = dict(os.environ, MYSQL_PWD=server.root_password)
    result = subprocess.run(
        [server.client_tool, f"--host={server.host}", f"--port={server.port}",
         "--protocol=TCP", f"--user={server.root_user}", "--default-character-set=utf8mb4",
         "--max-allowed-packet=1G", schema],
        input=sql, env=env, capture_output=True, timeout=600, check=False)
    if result.returncode != 0:
        raise AssertionError(
            f"loading the dump into {server.family} failed: {result.stderr.decode()[-2000:]}")


def server_version(server: DatabaseServer) -> str:
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        row = cur.fetchone()
        return str(row[0]) if row else ""
