"""Source against scratch, per table and per definition.

Content digest, per table, one of two methods (the manifest records which):
- `checksum-table`: CHECKSUM TABLE on both servers. Fast (in the server), but not
  an equality test everywhere: on MySQL 8.0.13+ (seen on 9.7) a table with a
  functional index gets another value after a byte-identical reload, because the
  checksum covers the index's hidden generated column. So it is used only for
  tables without a functional index.
- `row-digest`: SHA-256 over the SHA-256 of every row, in primary-key order (or in
  digest order without a primary key), the row being
  CONCAT_WS(',', QUOTE(c1), QUOTE(c2), ...) over every column information_schema
  lists, invisible ones included (QUOTE keeps NULL apart from the text 'NULL').
  The server hashes each row (SHA2(): MySQL 9.7 no longer has SHA1() or MD5()); only
  32 bytes a row cross the connection.

Definitions: SHOW CREATE of every table, view, routine, trigger and event, the
text compared after one normalisation: the AUTO_INCREMENT=n table option is
removed (a counter, not a definition; it moves with rows deleted at the top).
Definers are compared as they are (root loads the dump unchanged).
"""

from __future__ import annotations

import hashlib
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pymysql

from tenant_exit.mysql.connect import Connection, fetch_all
from tenant_exit.mysql.names import quote_identifier

CHECKSUM_TABLE = "checksum-table"
ROW_DIGEST = "row-digest"
NORMALISATION = ("SHOW CREATE text compared byte for byte after removing the "
                 "AUTO_INCREMENT=n table option; definers kept")
_AUTO_INCREMENT = re.compile(r" AUTO_INCREMENT=\d+")


@dataclass(frozen=True)
class Digest:
    rows: int | None
    """Rows read by the digest (row-digest); None for checksum-table."""
    value: str


def has_functional_index(conn: Connection, schema: str, table: str) -> bool:
    try:
        rows = fetch_all(conn, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE "
                         "TABLE_SCHEMA = %s AND TABLE_NAME = %s AND EXPRESSION IS NOT NULL",
                         (schema, table))
    except pymysql.err.MySQLError:
        return False  # no EXPRESSION column: MariaDB, MySQL < 8.0.13 have no such index
    return int(rows[0][0]) > 0


def choose_method(conn: Connection, schema: str, table: str) -> str:
    return ROW_DIGEST if has_functional_index(conn, schema, table) else CHECKSUM_TABLE


def _columns(conn: Connection, schema: str, table: str) -> list[str]:
    return [str(r[0]) for r in fetch_all(
        conn, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
        "AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (schema, table))]


def _primary_key(conn: Connection, schema: str, table: str) -> list[str]:
    return [str(r[0]) for r in fetch_all(
        conn, "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE "
        "TABLE_SCHEMA = %s AND TABLE_NAME = %s AND CONSTRAINT_NAME = 'PRIMARY' "
        "ORDER BY ORDINAL_POSITION", (schema, table))]


def row_digest(conn: Connection, schema: str, table: str) -> Digest:
    columns = _columns(conn, schema, table)
    key = _primary_key(conn, schema, table)
    row = "CONCAT_WS(',', " + ", ".join(f"QUOTE({quote_identifier(c)})" for c in columns) + ")"
    order = ", ".join(quote_identifier(c) for c in key) if key else "1"
    query = (f"SELECT UNHEX(SHA2({row}, 256)) FROM {quote_identifier(schema)}."
             f"{quote_identifier(table)} ORDER BY {order}")
    hasher = hashlib.sha256()
    rows = 0
    with conn.cursor(pymysql.cursors.SSCursor) as cur:
        cur.execute(query)
        for (value,) in cur:
            hasher.update(value)
            rows += 1
    return Digest(rows, hasher.hexdigest())


def checksum_table(conn: Connection, schema: str, table: str) -> Digest:
    rows = fetch_all(conn, f"CHECKSUM TABLE {quote_identifier(schema)}.{quote_identifier(table)}")
    return Digest(None, str(rows[0][1]))


def count(conn: Connection, schema: str, table: str) -> int:
    return int(fetch_all(conn, f"SELECT COUNT(*) FROM {quote_identifier(schema)}."
                         f"{quote_identifier(table)}")[0][0])


def digest(conn: Connection, schema: str, table: str, method: str) -> Digest:
    return row_digest(conn, schema, table) if method == ROW_DIGEST else \
        checksum_table(conn, schema, table)


@dataclass(frozen=True)
class TableResult:
    schema: str
    name: str
    method: str
    source_rows: int
    scratch_rows: int
    source_digest: str
    scratch_digest: str
    seconds: float

    @property
    def matches(self) -> bool:
        return (self.source_rows == self.scratch_rows
                and self.source_digest == self.scratch_digest)


def _digest_all(conn: Connection, schema: str, methods: list[tuple[str, str]],
                counted: bool) -> list[tuple[Digest, int | None, float]]:
    """(digest, row count or None, seconds) of each (table, method), in order; the
    count is taken where the digest gives none and `counted` asks for it."""
    found = []
    for table, method in methods:
        started = time.monotonic()
        value = digest(conn, schema, table, method)
        rows = value.rows if value.rows is not None or not counted else \
            count(conn, schema, table)
        found.append((value, rows, time.monotonic() - started))
    return found


def compare_tables(source: Connection, scratch: Connection, schema: str, tables: list[str],
                   source_rows: dict[tuple[str, str], int]) -> list[TableResult]:
    """Every table of `schema` in `tables`, source against scratch.

    The two servers digest side by side (the scratch side in a thread of its own,
    on its own connection): each digest is a scan inside its server, so on two
    free cores the pass takes the longer side's time instead of the sum. A
    table's `seconds` is its longer side.

    The source is not read in the dump's snapshot (each schema's dump takes its own,
    which no other connection can join). `source_rows` are the exact counts the row
    counter took beside the dumps, in its own consistent snapshot on its own
    connection (backup.RowCounter); the source's digests (and, for row-digest, the
    count each reads, which replaces the counter's) are read now, after the dump,
    outside any snapshot. Both equal what the dump read only because the write
    freeze keeps the source as it was dumped: a write meanwhile (an exit whose
    freeze is acknowledged as None) fails the comparison although the archive may
    be right. The scratch side holds exactly the archive's rows."""
    methods = [(table, choose_method(source, schema, table)) for table in tables]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scratch-digest") as pool:
        ours_later = pool.submit(_digest_all, scratch, schema, methods, True)
        theirs = _digest_all(source, schema, methods, False)
        ours = ours_later.result()
    results = []
    for (table, method), (t_digest, t_rows, t_seconds), (o_digest, o_rows, o_seconds) in zip(
            methods, theirs, ours, strict=True):
        assert o_rows is not None  # counted=True
        counted = t_rows if t_rows is not None else source_rows[(schema, table)]
        results.append(TableResult(schema, table, method, counted, o_rows, t_digest.value,
                                   o_digest.value, max(t_seconds, o_seconds)))
    return results


# -- definitions ------------------------------------------------------------
_SHOW = {
    "table": ("SHOW CREATE TABLE {}", 1),
    "view": ("SHOW CREATE VIEW {}", 1),
    "procedure": ("SHOW CREATE PROCEDURE {}", 2),
    "function": ("SHOW CREATE FUNCTION {}", 2),
    "trigger": ("SHOW CREATE TRIGGER {}", 2),
    "event": ("SHOW CREATE EVENT {}", 3),
}


def normalise(text: str) -> str:
    return _AUTO_INCREMENT.sub("", text)


def show_create(conn: Connection, schema: str, kind: str, name: str) -> str | None:
    statement, column = _SHOW[kind]
    try:
        rows = fetch_all(conn, statement.format(
            f"{quote_identifier(schema)}.{quote_identifier(name)}"))
    except pymysql.err.MySQLError:
        return None  # missing on this server
    return normalise(str(rows[0][column])) if rows and rows[0][column] is not None else None


def definitions(conn: Connection, schema: str) -> list[tuple[str, str]]:
    """(kind, name) of every table, view, routine, trigger and event of `schema`."""
    found = [("view" if str(t) == "VIEW" else "table", str(n)) for n, t in fetch_all(
        conn, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME", (schema,))]
    found += [(str(t).lower(), str(n)) for n, t in fetch_all(
        conn, "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES "
        "WHERE ROUTINE_SCHEMA = %s ORDER BY ROUTINE_NAME", (schema,))]
    found += [("trigger", str(r[0])) for r in fetch_all(
        conn, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s "
        "ORDER BY TRIGGER_NAME", (schema,))]
    found += [("event", str(r[0])) for r in fetch_all(
        conn, "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s "
        "ORDER BY EVENT_NAME", (schema,))]
    return found


@dataclass(frozen=True)
class DefinitionResult:
    schema: str
    kind: str
    name: str
    matches: bool


def compare_definitions(source: Connection, scratch: Connection, schema: str,
                        wanted: list[tuple[str, str]]) -> list[DefinitionResult]:
    """`wanted`: the (kind, name) pairs the dump holds (excluded tables left out)."""
    results = []
    for kind, name in wanted:
        theirs = show_create(source, schema, kind, name)
        results.append(DefinitionResult(
            schema, kind, name,
            theirs is not None and theirs == show_create(scratch, schema, kind, name)))
    return results
