"""The data dictionary that travels with every backup (JSON and Markdown).

Dumps handed over without a description of the data model need a specialist to
be read at all; this one lists every schema, table, column (type, nullability,
default, comment, generation expression, visibility), key, index (functional
ones by their expression), foreign key, CHECK constraint, view, routine,
trigger and event, read from information_schema. The families differ in where
some of this lives: MySQL 8.0.13+ gives a functional index's expression in
STATISTICS.EXPRESSION; MySQL 8.0.16+ lists CHECK constraints in
CHECK_CONSTRAINTS without the table (TABLE_CONSTRAINTS has it), MariaDB with
it (TABLE_NAME); MySQL 5.7 parses CHECK clauses but neither enforces nor lists
them. `render_markdown` is pure, so its shape is unit
tested; `read_dictionary` only queries.

It is encrypted like the data: comments and names can carry hints about
clients or their care (a column comment like "HIV status, see intake form").
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import pymysql
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from tenant_exit.mysql.connect import Connection, fetch_all, placeholders
from tenant_exit.mysql.server import ServerFamily, ServerInfo


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Column(_Model):
    name: str
    type: str
    nullable: bool
    default: str | None = None
    key: str = ""
    extra: str = ""
    comment: str = ""
    generation_expression: str = ""
    """The expression of a generated column (its EXTRA says VIRTUAL or STORED)."""
    invisible: bool = False
    """An INVISIBLE column (MySQL 8.0.23+, MariaDB 10.3+): not in `SELECT *`."""


class Index(_Model):
    name: str
    unique: bool
    columns: list[str]


class Check(_Model):
    name: str
    clause: str


class ForeignKey(_Model):
    name: str
    columns: list[str]
    referenced_schema: str
    referenced_table: str
    referenced_columns: list[str]
    on_update: str = ""
    on_delete: str = ""


class Table(_Model):
    name: str
    type: str
    engine: str | None = None
    comment: str = ""
    rows: int | None = None
    """Exact row count in the backup; None for views and excluded tables."""
    excluded_by: str | None = None
    """The exclude pattern that kept this table out of the dump, if any."""
    columns: list[Column] = []
    primary_key: list[str] = []
    indexes: list[Index] = []
    foreign_keys: list[ForeignKey] = []
    checks: list[Check] = []
    view_definition: str | None = None


class Routine(_Model):
    name: str
    type: str
    returns: str = ""
    comment: str = ""


class Trigger(_Model):
    name: str
    table: str
    timing: str
    event: str


class Event(_Model):
    name: str
    schedule: str = ""
    status: str = ""


class Schema(_Model):
    name: str
    character_set: str = ""
    collation: str = ""
    tables: list[Table] = []
    routines: list[Routine] = []
    triggers: list[Trigger] = []
    events: list[Event] = []


class DataDictionary(_Model):
    generated_at: datetime
    server_version: str
    note: str = ("Describes the data model of the SQL dump in this backup. The backup is an "
                 "archive, not a restore point for the application.")
    schemas: list[Schema]

    def to_json_bytes(self) -> bytes:
        return (self.model_dump_json(by_alias=True, indent=2) + "\n").encode()


def read_dictionary(conn: Connection, schemas: list[str], *, generated_at: datetime,
                    server: ServerInfo, row_counts: dict[tuple[str, str], int],
                    excluded: dict[tuple[str, str], str]) -> DataDictionary:
    """Everything information_schema says about `schemas`, plus our counts/exclusions."""
    server_version = server.version
    if not schemas:
        return DataDictionary(generated_at=generated_at, server_version=server_version,
                              schemas=[])
    marks = placeholders(schemas)

    def query(sql: str) -> list[tuple[Any, ...]]:
        return fetch_all(conn, sql.format(marks=marks), schemas)

    charset = {str(r[0]): (str(r[1]), str(r[2])) for r in query(
        "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
        "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ({marks})")}

    columns: dict[tuple[str, str], list[Column]] = defaultdict(list)
    for r in query("SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, "
                   "COLUMN_DEFAULT, COLUMN_KEY, EXTRA, COLUMN_COMMENT, GENERATION_EXPRESSION "
                   "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN ({marks}) "
                   "ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"):
        extra = str(r[7] or "")
        columns[(str(r[0]), str(r[1]))].append(Column(
            name=str(r[2]), type=str(r[3]), nullable=r[4] == "YES",
            default=None if r[5] is None else str(r[5]), key=str(r[6] or ""),
            extra=extra, comment=str(r[8] or ""), generation_expression=str(r[9] or ""),
            invisible="INVISIBLE" in extra.upper()))

    index_cols: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    index_unique: dict[tuple[str, str, str], bool] = {}
    # A functional index part has no COLUMN_NAME, only an EXPRESSION (MySQL 8.0.13+).
    part = ("COALESCE(COLUMN_NAME, CONCAT('(', EXPRESSION, ')'))"
            if server.has_data_dictionary else "COLUMN_NAME")
    for r in query(f"SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, {part} "
                   "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN ({marks}) "
                   "ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"):
        index_ident = (str(r[0]), str(r[1]), str(r[2]))
        index_cols[index_ident].append(str(r[4]))
        index_unique[index_ident] = int(r[3]) == 0

    fk_cols: dict[tuple[str, str, str], list[tuple[str, str, str, str]]] = defaultdict(list)
    for r in query("SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, "
                   "REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME "
                   "FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA IN ({marks}) "
                   "AND REFERENCED_TABLE_NAME IS NOT NULL "
                   "ORDER BY TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION"):
        fk_cols[(str(r[0]), str(r[1]), str(r[2]))].append(
            (str(r[3]), str(r[4]), str(r[5]), str(r[6])))
    fk_rules = {(str(r[0]), str(r[1]), str(r[2])): (str(r[3]), str(r[4])) for r in query(
        "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE "
        "FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN ({marks})")}

    checks = _checks(conn, server, schemas)

    views = {(str(r[0]), str(r[1])): str(r[2]) for r in query(
        "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS "
        "WHERE TABLE_SCHEMA IN ({marks})")}

    tables: dict[str, list[Table]] = defaultdict(list)
    for r in query("SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COMMENT "
                   "FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({marks}) "
                   "ORDER BY TABLE_SCHEMA, TABLE_NAME"):
        schema, name = str(r[0]), str(r[1])
        ident = (schema, name)
        indexes = [Index(name=i[2], unique=index_unique[i], columns=cols)
                   for i, cols in index_cols.items() if i[:2] == ident]
        fks = []
        for fk, cols in fk_cols.items():
            if fk[:2] != ident:
                continue
            update, delete = fk_rules.get(fk, ("", ""))
            fks.append(ForeignKey(name=fk[2], columns=[c[0] for c in cols],
                                  referenced_schema=cols[0][1], referenced_table=cols[0][2],
                                  referenced_columns=[c[3] for c in cols],
                                  on_update=update, on_delete=delete))
        tables[schema].append(Table(
            name=name, type=str(r[2]), engine=None if r[3] is None else str(r[3]),
            comment=str(r[4] or ""), rows=row_counts.get(ident), excluded_by=excluded.get(ident),
            columns=columns.get(ident, []),
            primary_key=next((i.columns for i in indexes if i.name == "PRIMARY"), []),
            indexes=[i for i in indexes if i.name != "PRIMARY"], foreign_keys=fks,
            checks=checks.get(ident, []), view_definition=views.get(ident)))

    routines: dict[str, list[Routine]] = defaultdict(list)
    for r in query("SELECT ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, "
                   "ROUTINE_COMMENT FROM information_schema.ROUTINES "
                   "WHERE ROUTINE_SCHEMA IN ({marks}) ORDER BY ROUTINE_NAME"):
        routines[str(r[0])].append(Routine(name=str(r[1]), type=str(r[2]),
                                           returns=str(r[3] or ""), comment=str(r[4] or "")))
    triggers: dict[str, list[Trigger]] = defaultdict(list)
    for r in query("SELECT TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, "
                   "EVENT_MANIPULATION FROM information_schema.TRIGGERS "
                   "WHERE TRIGGER_SCHEMA IN ({marks}) ORDER BY TRIGGER_NAME"):
        triggers[str(r[0])].append(Trigger(name=str(r[1]), table=str(r[2]), timing=str(r[3]),
                                           event=str(r[4])))
    events: dict[str, list[Event]] = defaultdict(list)
    for r in query("SELECT EVENT_SCHEMA, EVENT_NAME, INTERVAL_VALUE, INTERVAL_FIELD, STATUS "
                   "FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN ({marks}) "
                   "ORDER BY EVENT_NAME"):
        schedule = f"every {r[2]} {r[3]}" if r[2] is not None else "once"
        events[str(r[0])].append(Event(name=str(r[1]), schedule=schedule, status=str(r[4])))

    return DataDictionary(
        generated_at=generated_at, server_version=server_version,
        schemas=[Schema(name=s, character_set=charset.get(s, ("", ""))[0],
                        collation=charset.get(s, ("", ""))[1], tables=tables.get(s, []),
                        routines=routines.get(s, []), triggers=triggers.get(s, []),
                        events=events.get(s, []))
                 for s in schemas])


def _checks(conn: Connection, server: ServerInfo, schemas: list[str]
            ) -> dict[tuple[str, str], list[Check]]:
    """CHECK constraints by (schema, table); none where the server does not list them."""
    marks = placeholders(schemas)
    if server.family is ServerFamily.MARIADB:
        sql = ("SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE "
               "FROM information_schema.CHECK_CONSTRAINTS "
               f"WHERE CONSTRAINT_SCHEMA IN ({marks}) ORDER BY CONSTRAINT_NAME")
    else:
        # MySQL's CHECK_CONSTRAINTS has no table column; names are unique per schema.
        sql = ("SELECT c.CONSTRAINT_SCHEMA, t.TABLE_NAME, c.CONSTRAINT_NAME, c.CHECK_CLAUSE "
               "FROM information_schema.CHECK_CONSTRAINTS c "
               "JOIN information_schema.TABLE_CONSTRAINTS t "
               "ON t.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA "
               "AND t.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND t.CONSTRAINT_TYPE = 'CHECK' "
               f"WHERE c.CONSTRAINT_SCHEMA IN ({marks}) ORDER BY c.CONSTRAINT_NAME")
    try:
        rows = fetch_all(conn, sql, schemas)
    except pymysql.err.ProgrammingError:
        return {}  # MySQL 5.7: no CHECK_CONSTRAINTS (and no enforced checks)
    found: dict[tuple[str, str], list[Check]] = defaultdict(list)
    for r in rows:
        found[(str(r[0]), str(r[1]))].append(Check(name=str(r[2]), clause=str(r[3])))
    return found


def _cell(text: str | None) -> str:
    """Markdown table cell: pipes escaped, newlines flattened."""
    if text is None or text == "":
        return ""
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown(dictionary: DataDictionary) -> str:
    """A readable document of the data model; pure."""
    out: list[str] = [
        "# Data dictionary",
        "",
        f"Generated {dictionary.generated_at.isoformat()} from server "
        f"{dictionary.server_version}.",
        "",
        dictionary.note,
        "",
    ]
    for schema in dictionary.schemas:
        out += [f"## Schema `{schema.name}`", ""]
        if schema.character_set:
            out += [f"Character set {schema.character_set}, collation {schema.collation}.", ""]
        for table in schema.tables:
            kind = "View" if table.type == "VIEW" else "Table"
            out += [f"### {kind} `{table.name}`", ""]
            if table.comment:
                out += [_cell(table.comment), ""]
            facts = []
            if table.excluded_by:
                facts.append(f"**not in the dump** (excluded by `{table.excluded_by}`)")
            elif table.rows is not None:
                facts.append(f"{table.rows} rows in the dump")
            if table.engine:
                facts.append(f"engine {table.engine}")
            if table.primary_key:
                facts.append("primary key (" + ", ".join(table.primary_key) + ")")
            if facts:
                out += ["; ".join(facts) + ".", ""]
            out += ["| Column | Type | Null | Default | Key | Extra | Comment |",
                    "|---|---|---|---|---|---|---|"]
            for c in table.columns:
                extra = c.extra + (f" AS ({c.generation_expression})"
                                   if c.generation_expression else "")
                out.append(f"| {_cell(c.name)} | {_cell(c.type)} | {'yes' if c.nullable else 'no'}"
                           f" | {_cell(c.default)} | {_cell(c.key)} | {_cell(extra)}"
                           f" | {_cell(c.comment)} |")
            out.append("")
            for fk in table.foreign_keys:
                out.append(f"- foreign key `{fk.name}` ({', '.join(fk.columns)}) -> "
                           f"`{fk.referenced_table}` ({', '.join(fk.referenced_columns)})"
                           + (f", on delete {fk.on_delete}" if fk.on_delete else ""))
            for index in table.indexes:
                out.append(f"- {'unique ' if index.unique else ''}index `{index.name}` "
                           f"({', '.join(index.columns)})")
            for check in table.checks:
                out.append(f"- check `{check.name}`: {_cell(check.clause)}")
            if table.foreign_keys or table.indexes or table.checks:
                out.append("")
            if table.view_definition:
                out += ["```sql", table.view_definition, "```", ""]
        if schema.routines:
            out += ["### Routines", ""]
            for r in schema.routines:
                returns = f" returns {r.returns}" if r.returns else ""
                comment = f": {_cell(r.comment)}" if r.comment else ""
                out.append(f"- {r.type.lower()} `{r.name}`{returns}{comment}")
            out.append("")
        if schema.triggers:
            out += ["### Triggers", ""]
            out += [f"- `{t.name}`: {t.timing.lower()} {t.event.lower()} on `{t.table}`"
                    for t in schema.triggers]
            out.append("")
        if schema.events:
            out += ["### Events", ""]
            out += [f"- `{e.name}`: {e.schedule} ({e.status.lower()})" for e in schema.events]
            out.append("")
    return "\n".join(out)
