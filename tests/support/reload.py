"""What a reloaded archive must equal, read from a server (both families).

- `row_digests`: per base table the row count and a SHA-256 over every row in a
  fixed order, every column included (invisible and generated ones too, which
  `SELECT *` and CHECKSUM TABLE do not show the same way: on MySQL 9.7 a
  byte-identical reload of a table with a functional index gets a different
  CHECKSUM TABLE, from the index's hidden column).
- `create_tables`: SHOW CREATE TABLE, with only AUTO_INCREMENT=<n> removed (the
  counter is not data; mysqldump writes it, but InnoDB may advance it).
- `code_definitions`: SHOW CREATE of every view, routine, trigger and event.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from tests.localcluster.dbserver import DatabaseServer


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _base_tables(cur: Any, schema: str) -> list[str]:
    cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                "AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", (schema,))
    return [str(r[0]) for r in cur.fetchall()]


def _cell(value: Any) -> bytes:
    if value is None:
        return b"\x00N"
    if isinstance(value, bytes | bytearray):
        return b"\x01" + bytes(value)
    return b"\x02" + repr(value).encode()


def row_digests(db: DatabaseServer, schema: str) -> dict[str, tuple[int, str]]:
    result: dict[str, tuple[int, str]] = {}
    with db.connect(database=schema) as conn, conn.cursor() as cur:
        for table in _base_tables(cur, schema):
            cur.execute("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE "
                        "TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
                        (schema, table))
            columns = ", ".join(_q(str(r[0])) for r in cur.fetchall())
            # Every column named: invisible ones are read too. Ordered by all of
            # them, so a table without a key has a fixed order as well.
            cur.execute(f"SELECT {columns} FROM {_q(table)} ORDER BY {columns}")
            digest = hashlib.sha256()
            count = 0
            for row in cur.fetchall():
                count += 1
                for value in row:
                    digest.update(_cell(value))
                digest.update(b"\n")
            result[table] = (count, digest.hexdigest())
    return result


_AUTO_INCREMENT = re.compile(r" AUTO_INCREMENT=\d+")


def create_tables(db: DatabaseServer, schema: str) -> dict[str, str]:
    with db.connect(database=schema) as conn, conn.cursor() as cur:
        out = {}
        for table in _base_tables(cur, schema):
            cur.execute(f"SHOW CREATE TABLE {_q(table)}")
            out[table] = _AUTO_INCREMENT.sub("", str(cur.fetchone()[1]))
        return out


_KINDS = (
    ("VIEW", "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s", 1),
    ("PROCEDURE", "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE "
                  "ROUTINE_SCHEMA = %s AND ROUTINE_TYPE = 'PROCEDURE'", 2),
    ("FUNCTION", "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE "
                 "ROUTINE_SCHEMA = %s AND ROUTINE_TYPE = 'FUNCTION'", 2),
    ("TRIGGER", "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE "
                "TRIGGER_SCHEMA = %s", 2),
    ("EVENT", "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s", 3),
)


def code_definitions(db: DatabaseServer, schema: str) -> dict[str, str]:
    """`KIND name` -> the CREATE statement SHOW CREATE prints (column `index`)."""
    with db.connect(database=schema) as conn, conn.cursor() as cur:
        out = {}
        for kind, listing, index in _KINDS:
            cur.execute(listing, (schema,))
            for (name,) in cur.fetchall():
                cur.execute(f"SHOW CREATE {kind} {_q(str(name))}")
                out[f"{kind} {name}"] = str(cur.fetchone()[index])
        return out
