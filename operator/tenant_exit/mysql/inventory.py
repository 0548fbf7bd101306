"""What the database holds, read from information_schema before the dump.

The inventory decides what is dumped (schemas, base tables, exclusions) and
provides the row counts the manifest records. Row counts are exact
(`COUNT(*)`), taken inside one consistent snapshot: information_schema's
TABLE_ROWS is only an estimate for InnoDB (often off by tens of percent),
useless as evidence of completeness. While the read-only licence holds, this
snapshot and mysqldump's see the same data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tenant_exit.api.database import is_system_schema
from tenant_exit.mysql.connect import Connection, fetch_all, placeholders
from tenant_exit.mysql.names import quote_identifier

DATA_TABLE_TYPES = frozenset({"BASE TABLE", "SYSTEM VERSIONED"})

@dataclass(frozen=True)
class TableInfo:
    schema: str
    name: str
    type: str
    """information_schema TABLE_TYPE: BASE TABLE, VIEW, SYSTEM VERSIONED, SEQUENCE."""
    engine: str | None
    rows_estimate: int
    data_bytes: int
    index_bytes: int

    @property
    def holds_data(self) -> bool:
        return self.type in DATA_TABLE_TYPES


@dataclass
class SchemaObjects:
    """Code objects of one schema, by name."""

    routines: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


@dataclass
class Inventory:
    server_version: str
    schemas: list[str]
    tables: list[TableInfo]
    objects: dict[str, SchemaObjects]
    charsets: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Per schema: (default character set, default collation)."""

    def tables_of(self, schema: str) -> list[TableInfo]:
        return [t for t in self.tables if t.schema == schema]

    @property
    def data_bytes(self) -> int:
        return sum(t.data_bytes + t.index_bytes for t in self.tables)


def list_schemas(conn: Connection) -> list[str]:
    """Every schema except the server's own, sorted."""
    rows = fetch_all(conn, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
    names = [str(r[0]) for r in rows]
    return sorted(n for n in names if not is_system_schema(n))


def read_inventory(conn: Connection, schemas: list[str] | None = None) -> Inventory:
    """Schemas (given, or all non-system ones), their tables and code objects.

    Raises LookupError naming any requested schema that does not exist.
    """
    existing = list_schemas(conn)
    if schemas:
        missing = [s for s in schemas if s not in existing]
        if missing:
            raise LookupError(f"schema(s) not found on the server: {', '.join(missing)}")
        wanted = list(schemas)
    else:
        wanted = existing
    version = str(fetch_all(conn, "SELECT VERSION()")[0][0])
    if not wanted:
        return Inventory(version, [], [], {})
    marks = placeholders(wanted)
    tables = [
        TableInfo(schema=str(r[0]), name=str(r[1]), type=str(r[2]),
                  engine=None if r[3] is None else str(r[3]), rows_estimate=int(r[4] or 0),
                  data_bytes=int(r[5] or 0), index_bytes=int(r[6] or 0))
        for r in fetch_all(conn,
                       "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_ROWS, "
                       "DATA_LENGTH, INDEX_LENGTH FROM information_schema.TABLES "
                       f"WHERE TABLE_SCHEMA IN ({marks}) ORDER BY TABLE_SCHEMA, TABLE_NAME",
                       wanted)
    ]
    objects = {s: SchemaObjects() for s in wanted}
    for schema, name in fetch_all(conn, "SELECT ROUTINE_SCHEMA, ROUTINE_NAME FROM "
                              f"information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN ({marks}) "
                              "ORDER BY ROUTINE_NAME", wanted):
        objects[str(schema)].routines.append(str(name))
    for schema, name in fetch_all(conn, "SELECT TRIGGER_SCHEMA, TRIGGER_NAME FROM "
                              f"information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN ({marks}) "
                              "ORDER BY TRIGGER_NAME", wanted):
        objects[str(schema)].triggers.append(str(name))
    for schema, name in fetch_all(conn, "SELECT EVENT_SCHEMA, EVENT_NAME FROM "
                              f"information_schema.EVENTS WHERE EVENT_SCHEMA IN ({marks}) "
                              "ORDER BY EVENT_NAME", wanted):
        objects[str(schema)].events.append(str(name))
    charsets = {str(r[0]): (str(r[1]), str(r[2])) for r in fetch_all(
        conn, "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
              f"FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ({marks})", wanted)}
    return Inventory(version, wanted, tables, objects, charsets)


def count_rows(conn: Connection, tables: list[tuple[str, str]],
               on_table: Callable[[str, str, int], None] | None = None
               ) -> dict[tuple[str, str], int]:
    """Exact row counts of `(schema, table)` pairs, all in one consistent snapshot."""
    counts: dict[tuple[str, str], int] = {}
    with conn.cursor() as cur:
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        try:
            for schema, table in tables:
                cur.execute(f"SELECT COUNT(*) FROM {quote_identifier(schema)}."
                            f"{quote_identifier(table)}")
                row = cur.fetchone()
                counts[(schema, table)] = int(row[0]) if row else 0
                if on_table is not None:
                    on_table(schema, table, counts[(schema, table)])
        finally:
            cur.execute("ROLLBACK")
    return counts


def data_size(conn: Connection, schemas: list[str] | None = None) -> int:
    """Data and index bytes of the schemas (given, or every non-system one) as
    information_schema reports them: the size a scratch server must hold."""
    wanted = list(schemas) if schemas else list_schemas(conn)
    if not wanted:
        return 0
    rows = fetch_all(conn, "SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM "
                     f"information_schema.TABLES WHERE TABLE_SCHEMA IN ({placeholders(wanted)})",
                     wanted)
    return int(rows[0][0] or 0)
