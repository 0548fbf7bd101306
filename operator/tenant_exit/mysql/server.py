"""Which server this is: the family and version, read from the server itself.

The family decides the dump client (MySQL's `mysqldump` or MariaDB's
`mariadb-dump`), the privilege model (MySQL 8.0+ has no `mysql.proc` and needs
SHOW_ROUTINE) and how read-only is enforced (`super_read_only` exists only on
MySQL). It comes from the server, never from the client on PATH: a MariaDB
client would happily dump a MySQL server into a dump MySQL cannot load (ERROR
3105 on generated columns, issue 11), and the other way round.

MariaDB's `@@version` says so (`10.11.19-MariaDB-0+deb12u1`), and its
`@@version_comment` usually does too ("mariadb.org binary distribution").
MySQL's version has no "MariaDB"; its comment is "MySQL Community Server - GPL",
"Source distribution" or a vendor's text (Percona, a cloud provider). So:
MariaDB when either says so, MySQL otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pymysql

from tenant_exit.mysql.connect import Connection, fetch_all


class ServerFamily(StrEnum):
    MARIADB = "mariadb"
    MYSQL = "mysql"


@dataclass(frozen=True)
class ServerInfo:
    """What the manifest records about the server, and what the worker decides on."""

    family: ServerFamily
    version: str
    """`@@version` as the server reports it."""
    version_comment: str = ""
    sql_mode: str = ""
    gtid_mode: str | None = None
    """MySQL's `@@GLOBAL.gtid_mode` (OFF, ON, ...); None on MariaDB, whose GTIDs
    mariadb-dump writes only when asked (`--gtid`, which we do not pass)."""

    @property
    def major_minor(self) -> tuple[int, int]:
        found = re.match(r"\s*(\d+)\.(\d+)", self.version)
        return (int(found.group(1)), int(found.group(2))) if found else (0, 0)

    @property
    def has_data_dictionary(self) -> bool:
        """MySQL 8.0+: no `mysql.proc`, SHOW_ROUTINE, roles, super_read_only."""
        return self.family is ServerFamily.MYSQL and self.major_minor >= (8, 0)

    def describe(self) -> str:
        comment = f" ({self.version_comment})" if self.version_comment else ""
        return f"{self.family.value} {self.version}{comment}"


def family_of(version: str, version_comment: str) -> ServerFamily:
    """MariaDB when `@@version` or `@@version_comment` says so, MySQL otherwise (pure)."""
    text = f"{version} {version_comment}".lower()
    return ServerFamily.MARIADB if "mariadb" in text else ServerFamily.MYSQL


def read_server(conn: Connection) -> ServerInfo:
    version, comment, sql_mode = fetch_all(
        conn, "SELECT @@version, @@version_comment, @@GLOBAL.sql_mode")[0]
    family = family_of(str(version), str(comment or ""))
    gtid_mode = _variable(conn, "@@GLOBAL.gtid_mode") if family is ServerFamily.MYSQL else None
    return ServerInfo(family=family, version=str(version), version_comment=str(comment or ""),
                      sql_mode=str(sql_mode or ""), gtid_mode=gtid_mode)


def _variable(conn: Connection, name: str) -> str | None:
    try:
        rows: list[tuple[Any, ...]] = fetch_all(conn, f"SELECT {name}")
    except pymysql.err.MySQLError:
        return None  # a server without the variable (MySQL 5.5, forks)
    return None if not rows or rows[0][0] is None else str(rows[0][0])
