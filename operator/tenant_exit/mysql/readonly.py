"""ServerReadOnly: the server's global `read_only`, and on MySQL `super_read_only`.

read_only stops writes of every account without SUPER (MySQL 5.7), without
CONNECTION_ADMIN/SUPER (8.0+) or without READ_ONLY ADMIN (MariaDB 10.11+). On
MySQL that leaves the application accounts that were given SUPER or
CONNECTION_ADMIN (common on managed servers) free to write, so MySQL also gets
`super_read_only`, which stops those too (MariaDB has no such flag; its
READ_ONLY ADMIN is the only bypass). The dump only reads, so the operator's
account needs no bypass. Setting either flag needs SUPER (5.7, MariaDB) or
SYSTEM_VARIABLES_ADMIN (8.0+).

The flags interact (MySQL manual, "super_read_only"): turning super_read_only
on turns read_only on, turning read_only off turns super_read_only off. So the
remembered pair is restored in the one order that reaches it. `SET GLOBAL` does
not survive a server restart: the operator sets the flags again on every pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pymysql

from tenant_exit.mysql.connect import Connection, fetch_all

READ_ONLY = "readOnly"
SUPER_READ_ONLY = "superReadOnly"


def _flag(conn: Connection, variable: str) -> bool | None:
    try:
        rows = fetch_all(conn, f"SELECT @@GLOBAL.{variable}")
    except pymysql.err.MySQLError:
        return None  # MariaDB: no super_read_only (Unknown system variable)
    return bool(int(rows[0][0]))


def read_flags(conn: Connection) -> dict[str, bool]:
    """The server's flags as the grants record stores them; superReadOnly only on MySQL."""
    flags = {READ_ONLY: bool(_flag(conn, "read_only"))}
    super_read_only = _flag(conn, "super_read_only")
    if super_read_only is not None:
        flags[SUPER_READ_ONLY] = super_read_only
    return flags


def read_only(conn: Connection) -> bool:
    return bool(_flag(conn, "read_only"))


def set_read_only(conn: Connection, on: bool) -> None:
    """On: read_only, and super_read_only where the server has it. Off: both off."""
    has_super = _flag(conn, "super_read_only") is not None
    with conn.cursor() as cur:
        cur.execute("SET GLOBAL read_only = %s", (1 if on else 0,))
        if has_super and on:
            cur.execute("SET GLOBAL super_read_only = 1")


def restore_flags(conn: Connection, flags: dict[str, bool]) -> None:
    """Set the flags back to a `read_flags` record (older records hold only readOnly)."""
    has_super = _flag(conn, "super_read_only") is not None
    read_only_before = bool(flags.get(READ_ONLY))
    super_before = bool(flags.get(SUPER_READ_ONLY)) and read_only_before
    with conn.cursor() as cur:
        if has_super and not super_before:
            cur.execute("SET GLOBAL super_read_only = 0")
        cur.execute("SET GLOBAL read_only = %s", (1 if read_only_before else 0,))
        if has_super and super_before:
            cur.execute("SET GLOBAL super_read_only = 1")


@contextmanager
def super_read_only_lifted(conn: Connection) -> Iterator[None]:
    """Lift super_read_only (keeping read_only) around the operator's own DDL.

    Under super_read_only even the operator's account cannot DROP DATABASE, and
    ServerReadOnly stays in force through the deletion. read_only still stops
    every ordinary account meanwhile; the flag is back on when this returns."""
    if not _flag(conn, "super_read_only"):
        yield
        return
    with conn.cursor() as cur:
        cur.execute("SET GLOBAL super_read_only = 0")
    try:
        yield
    finally:
        with conn.cursor() as cur:
            cur.execute("SET GLOBAL super_read_only = 1")
