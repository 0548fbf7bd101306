"""ServerReadOnly: the server's global `read_only` flag.

read_only stops writes of every account without SUPER (MySQL 5.7), without
CONNECTION_ADMIN/SUPER (8.0) or without READ_ONLY ADMIN (MariaDB 10.11+): the
operator's own account bypasses it, which the dump needs anyway. Setting it
needs SUPER (5.7, MariaDB) or SYSTEM_VARIABLES_ADMIN (8.0). `SET GLOBAL` does
not survive a server restart: the operator sets it again on every pass.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import pymysql

# pymysql's Connection is generic only to type checkers.
Connection: TypeAlias = "pymysql.connections.Connection[Any]"


def read_only(conn: Connection) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.read_only")
        return bool(int(cur.fetchone()[0]))


def set_read_only(conn: Connection, on: bool) -> None:
    with conn.cursor() as cur:
        cur.execute("SET GLOBAL read_only = %s", (1 if on else 0,))
