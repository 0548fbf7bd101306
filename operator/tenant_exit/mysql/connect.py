"""Opening a pymysql connection with a failure message a platform engineer can act on.

pymysql's errors carry the server's text ("Access denied for user 'x'@'10.0.0.5'
(using password: YES)") and never the password; we add where we connected and
as whom, so the message alone says what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

import pymysql
import pymysql.cursors


class DatabaseUnavailable(RuntimeError):
    """The server could not be reached or refused the account."""

    def __init__(self, message: str, mysql_errno: int = 0) -> None:
        super().__init__(message)
        # The server's error number (0: none): callers decide on it, not on the text.
        self.mysql_errno = mysql_errno


def connect(host: str, port: int, user: str, password: str, *, database: str | None = None,
            connect_timeout: float = 15, read_timeout: float | None = None
            ) -> pymysql.connections.Connection[Any]:
    try:
        return pymysql.connect(
            host=host, port=port, user=user, password=password, database=database,
            charset="utf8mb4", autocommit=True, connect_timeout=int(connect_timeout),
            read_timeout=int(read_timeout) if read_timeout else None,
        )
    except pymysql.err.OperationalError as err:
        code, message = (*err.args, "", "")[:2]
        raise DatabaseUnavailable(
            f"cannot connect to the database at {host}:{port} as '{user}': {message} "
            f"(MySQL error {code})", mysql_errno=code if isinstance(code, int) else 0) from None


# pymysql's Connection is generic only in its type stubs.
Connection: TypeAlias = "pymysql.connections.Connection[Any]"


def fetch_all(conn: Connection, sql: str, args: Iterable[Any] | None = None
              ) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, tuple(args) if args is not None else None)
        return list(cur.fetchall())


def placeholders(values: list[str]) -> str:
    """`%s, %s, ...` for an `IN (...)` list of `values`."""
    return ", ".join(["%s"] * len(values))
