"""What a reloaded archive must equal, read from a server (both families).

- `row_digests`: per base table the row count and a SHA-256 over every row in a
  fixed order, every column included (invisible and generated ones too, which
  `SELECT *` and CHECKSUM TABLE do not show the same way: on MySQL 9.7 a
  byte-identical reload of a table with a functional index gets a different
  CHECKSUM TABLE, from the index's hidden column).
- `create_tables`: SHOW CREATE TABLE, with AUTO_INCREMENT=<n> removed (the counter
  is not data; mysqldump writes it, but InnoDB may advance it) and one spelling
  folded: MySQL (measured on 9.7) prints a column that inherits a non-default
  collation as `COLLATE c`, but the same column created with that explicit
  clause, as the dump's CREATE TABLE does, as `CHARACTER SET s COLLATE c`.
  SHOW CREATE TABLE is thus not a fixed point of a reload on MySQL;
  `column_facts` compares each column's character set and collation (and
  everything else information_schema says about it) exactly, so the folding
  hides no difference in the data's definition.
- `code_definitions`: SHOW CREATE of every view, routine, trigger and event.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
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
_EXPLICIT_CHARSET = re.compile(r" CHARACTER SET (\w+) COLLATE (\w+)")


def _fold_charset(match: re.Match[str]) -> str:
    charset, collation = match.groups()
    return f" COLLATE {collation}" if collation.startswith(charset + "_") else match.group(0)


def create_tables(db: DatabaseServer, schema: str) -> dict[str, str]:
    with db.connect(database=schema) as conn, conn.cursor() as cur:
        out = {}
        for table in _base_tables(cur, schema):
            cur.execute(f"SHOW CREATE TABLE {_q(table)}")
            ddl = _AUTO_INCREMENT.sub("", str(cur.fetchone()[1]))
            out[table] = _EXPLICIT_CHARSET.sub(_fold_charset, ddl)
        return out


def column_facts(db: DatabaseServer, schema: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Everything information_schema.COLUMNS says about each column but its schema."""
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, "
                    "IS_NULLABLE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, "
                    "COLUMN_KEY, EXTRA, GENERATION_EXPRESSION, COLUMN_COMMENT "
                    "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s", (schema,))
        return {(str(r[0]), str(r[1])): tuple(r[2:]) for r in cur.fetchall()}


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


def customer_load(db: DatabaseServer, schema: str, sql: bytes, *, character_set: str,
                  collation: str) -> None:
    """docs/customer-receipt.md, "Read the data": create the schema with the character
    set and collation the manifest records for it (the dump has no CREATE DATABASE),
    then load with the family's plain client. On MySQL the schema's default collation
    shows in SHOW CREATE TABLE (columns that differ from it get a CHARACTER SET clause),
    so a schema created with another default reloads into different-looking DDL."""
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {_q(schema)} CHARACTER SET {character_set} "
                    f"COLLATE {collation}")
    env = dict(os.environ, MYSQL_PWD=db.root_password)
    result = subprocess.run(
        [db.client_tool, f"--host={db.host}", f"--port={db.port}", "--protocol=TCP",
         f"--user={db.root_user}", "--max-allowed-packet=1G", schema],
        input=sql, env=env, capture_output=True, timeout=600, check=False)
    assert result.returncode == 0, f"loading into {db.family}: {result.stderr.decode()[-2000:]}"
