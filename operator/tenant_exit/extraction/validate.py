"""Is a DataModel's table a safe, single SELECT that yields its column contract?

Two stages, each message naming the output table and column:
1. `check_syntax` (no server): sqlglot, MySQL dialect, must find exactly one
   query statement — a SELECT (or a UNION of SELECTs, a WITH ... SELECT) with no
   INTO and no locking clause — and, where the select list is explicit, the
   result columns must be the contract's, in order.
2. `check_live` (a connection inside a read-only transaction): every source
   table and column the query names must exist in the tenant's schema
   (information_schema, so the message can say which), then the query runs as
   `SELECT * FROM (<query>) LIMIT 0` and the result's columns and types are
   compared with the contract.
The run repeats stage 2 inside its snapshot before it writes anything: a
failure there is schema drift (the model was valid when it was agreed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from pymysql.constants import FIELD_TYPE
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope

from tenant_exit.api.datamodel import (
    Classification,
    Column,
    DataModelSpec,
    Table,
    Transform,
    decimal_precision_scale,
)
from tenant_exit.mysql.connect import Connection, fetch_all

BINARY_CHARSET = 63
_NOT_NULL_FLAG = 1
_UNSIGNED_FLAG = 32

# Source schema as information_schema describes it: table -> column -> COLUMN_TYPE.
SourceSchema = Mapping[str, Mapping[str, str]]


@dataclass
class Report:
    """Problems found, each a sentence naming table and column."""

    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, table: str, message: str, column: str | None = None) -> None:
        where = f"table {table}" + (f", column {column}" if column else "")
        self.problems.append(f"{where}: {message}")


# --------------------------------------------------------------------------
# 1. syntax
# --------------------------------------------------------------------------

def parse_query(table: Table, report: Report) -> exp.Query | None:
    try:
        statements = [s for s in sqlglot.parse(table.query, read="mysql") if s is not None]
    except ParseError as err:
        first = err.errors[0] if err.errors else {}
        where = f" (line {first.get('line')}, col {first.get('col')})" if first else ""
        report.add(table.name, f"query does not parse as MySQL{where}; it must be one SELECT")
        return None
    if len(statements) != 1:
        report.add(table.name, f"query holds {len(statements)} statements; it must be one SELECT")
        return None
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        report.add(table.name, f"query is a {statement.key.upper()} statement, not a SELECT; "
                   "only one SELECT is accepted")
        return None
    if any(True for _ in statement.find_all(exp.Into)):
        report.add(table.name, "query uses SELECT ... INTO; only a plain SELECT is accepted")
        return None
    if any(select.args.get("locks") for select in statement.find_all(exp.Select)):
        report.add(table.name, "query takes locks (FOR UPDATE / LOCK IN SHARE MODE); an "
                   "extraction only reads")
        return None
    return statement


def result_names(query: exp.Query) -> list[str] | None:
    """Names of the result columns, or None when a `*` hides them."""
    if any(isinstance(s, exp.Star) or (isinstance(s, exp.Column) and s.is_star)
           for s in query.selects):
        return None
    return [s.alias_or_name for s in query.selects]


def check_table_syntax(table: Table, report: Report) -> exp.Query | None:
    query = parse_query(table, report)
    if query is None:
        return None
    names = result_names(query)
    expected = [c.name for c in table.columns]
    if names is not None and [n.lower() for n in names] != [e.lower() for e in expected]:
        _report_name_mismatch(table.name, names, expected, report)
    _check_contract(table, report)
    return query


def _report_name_mismatch(table: str, got: list[str], expected: list[str],
                          report: Report) -> None:
    got_lower = {g.lower() for g in got}
    expected_lower = {e.lower() for e in expected}
    for column in expected:
        if column.lower() not in got_lower:
            report.add(table, "declared in the contract but not in the query's result", column)
    for column in got:
        if column.lower() not in expected_lower:
            report.add(table, "in the query's result but not declared in the contract", column)
    if got_lower == expected_lower:
        report.add(table, f"result columns are in the order {got}, the contract's is {expected}")


def _check_contract(table: Table, report: Report) -> None:
    names = {c.name for c in table.columns}
    for key in table.primary_key:
        if key not in names:
            report.add(table.name, "primaryKey names a column the contract lacks", key)


def check_syntax(spec: DataModelSpec) -> Report:
    report = Report()
    tables = {t.name: t for t in spec.tables}
    for table in spec.tables:
        check_table_syntax(table, report)
    for relation in spec.relations:
        for end in (relation.from_, relation.to):
            target = tables.get(end.table)
            if target is None:
                report.add(end.table, f"relation {relation.name} names an unknown table")
                continue
            columns = {c.name for c in target.columns if c.published}
            for column in end.columns:
                if column not in columns:
                    report.add(end.table, f"relation {relation.name} names a column that is "
                               "not published", column)
    return report


# --------------------------------------------------------------------------
# 2. live
# --------------------------------------------------------------------------

def source_schema(conn: Connection, schema: str) -> dict[str, dict[str, str]]:
    """table -> column -> `COLUMN_TYPE NULL|NOT NULL`, for every table of `schema`."""
    rows = fetch_all(
        conn,
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION", [schema])
    tables: dict[str, dict[str, str]] = {}
    for table, column, column_type, nullable in rows:
        null = "NULL" if nullable == "YES" else "NOT NULL"
        tables.setdefault(str(table).lower(), {})[str(column).lower()] = (
            f"{str(column_type).lower()} {null}")
    return tables


def referenced_columns(table: Table, query: exp.Query, schema_name: str, source: SourceSchema,
                       report: Report) -> set[tuple[str, str]]:
    """(source table, source column) pairs the query reads; problems go to `report`."""
    cte_names = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    aliases: dict[str, str] = {}
    for node in query.find_all(exp.Table):
        name = node.name.lower()
        if node.db and node.db.lower() != schema_name.lower():
            report.add(table.name, f"query reads {node.db}.{node.name}; an extraction reads "
                       f"only the tenant schema {schema_name}")
            continue
        if name in cte_names:
            continue
        if name not in source:
            report.add(table.name, f"source table {name} does not exist in schema "
                       f"{schema_name}")
            continue
        aliases[node.alias_or_name.lower()] = name
    # Qualified references first: our message can name the table, sqlglot's cannot.
    for column in query.find_all(exp.Column):
        qualifier = column.table.lower()
        if qualifier and qualifier in aliases:
            source_table = aliases[qualifier]
            if column.name.lower() not in source[source_table]:
                report.add(table.name, f"source column {source_table}.{column.name} does not "
                           f"exist", _output_column_of(column) or None)
    if not report.ok:
        return set()
    schema: dict[str, object] = {
        schema_name: {t: {c: "TEXT" for c in cols} for t, cols in source.items()}}
    try:
        qualified = qualify(query.copy(), schema=schema, db=schema_name, dialect="mysql",
                            validate_qualify_columns=True, quote_identifiers=False)
    except OptimizeError as err:
        report.add(table.name, f"cannot resolve the query against schema {schema_name}: {err}")
        return set()
    found: set[tuple[str, str]] = set()
    for scope in traverse_scope(qualified):
        for column in scope.columns:
            origin = scope.sources.get(column.table)
            if isinstance(origin, exp.Table) and origin.name.lower() in source:
                found.add((origin.name.lower(), column.name.lower()))
    return found


def _output_column_of(column: exp.Column) -> str:
    """The output column a source reference feeds, when it is a direct select item."""
    parent = column.parent
    if isinstance(parent, exp.Alias):
        return parent.alias
    if isinstance(parent, exp.Select):
        return column.name
    return ""


@dataclass(frozen=True)
class ResultColumn:
    """One column of a LIMIT 0 result, as the server describes it."""

    name: str
    type_code: int
    length: int
    scale: int
    nullable: bool
    unsigned: bool
    binary: bool

    def describe(self) -> str:
        kind = _TYPE_NAMES.get(self.type_code, f"type {self.type_code}")
        if self.type_code in (FIELD_TYPE.DECIMAL, FIELD_TYPE.NEWDECIMAL):
            kind = f"DECIMAL({self.decimal_precision},{self.scale})"
        return kind + (" (binary)" if self.binary and kind in ("VARCHAR", "TEXT") else "")

    @property
    def decimal_precision(self) -> int:
        # The server reports the display length: digits + point + sign.
        return self.length - (1 if self.scale > 0 else 0) - (0 if self.unsigned else 1)


_TYPE_NAMES = {
    FIELD_TYPE.TINY: "TINYINT", FIELD_TYPE.SHORT: "SMALLINT", FIELD_TYPE.LONG: "INT",
    FIELD_TYPE.LONGLONG: "BIGINT", FIELD_TYPE.INT24: "MEDIUMINT", FIELD_TYPE.YEAR: "YEAR",
    FIELD_TYPE.FLOAT: "FLOAT", FIELD_TYPE.DOUBLE: "DOUBLE", FIELD_TYPE.DATE: "DATE",
    FIELD_TYPE.NEWDATE: "DATE", FIELD_TYPE.DATETIME: "DATETIME",
    FIELD_TYPE.TIMESTAMP: "TIMESTAMP", FIELD_TYPE.TIME: "TIME", FIELD_TYPE.JSON: "JSON",
    FIELD_TYPE.VARCHAR: "VARCHAR", FIELD_TYPE.VAR_STRING: "VARCHAR",
    FIELD_TYPE.STRING: "CHAR", FIELD_TYPE.ENUM: "ENUM", FIELD_TYPE.SET: "SET",
    FIELD_TYPE.TINY_BLOB: "TEXT", FIELD_TYPE.MEDIUM_BLOB: "TEXT", FIELD_TYPE.LONG_BLOB: "TEXT",
    FIELD_TYPE.BLOB: "TEXT", FIELD_TYPE.BIT: "BIT",
}
_INTEGERS = {FIELD_TYPE.TINY, FIELD_TYPE.SHORT, FIELD_TYPE.LONG, FIELD_TYPE.LONGLONG,
             FIELD_TYPE.INT24, FIELD_TYPE.YEAR}
_STRINGS = {FIELD_TYPE.VARCHAR, FIELD_TYPE.VAR_STRING, FIELD_TYPE.STRING, FIELD_TYPE.ENUM,
            FIELD_TYPE.SET, FIELD_TYPE.TINY_BLOB, FIELD_TYPE.MEDIUM_BLOB,
            FIELD_TYPE.LONG_BLOB, FIELD_TYPE.BLOB}
_DATES = {FIELD_TYPE.DATE, FIELD_TYPE.NEWDATE}
_TIMESTAMPS = {FIELD_TYPE.DATETIME, FIELD_TYPE.TIMESTAMP}


def describe_result(conn: Connection, query: str) -> list[ResultColumn]:
    """Run `query` with LIMIT 0 and return how the server types its columns."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT * FROM ({query}) AS extraction_probe LIMIT 0")
        fields = cur._result.fields if cur._result is not None else []
        return [
            ResultColumn(
                name=f.name, type_code=f.type_code, length=f.length, scale=f.scale,
                nullable=not (f.flags & _NOT_NULL_FLAG), unsigned=bool(f.flags & _UNSIGNED_FLAG),
                binary=f.charsetnr == BINARY_CHARSET)
            for f in fields
        ]


def source_type_fits(column: Column, result: ResultColumn) -> str | None:
    """None when the server's result type can be written as the contract says; else why not."""
    code = result.type_code
    if column.classification == Classification.PSEUDONYMISED:
        wanted_ok = code in _INTEGERS | _STRINGS | {FIELD_TYPE.DECIMAL, FIELD_TYPE.NEWDECIMAL}
        return None if wanted_ok else "a pseudonymised column needs an integer or string id"
    if column.transform == Transform.BIRTH_YEAR:
        return None if code in _DATES | _TIMESTAMPS else "transform birthYear needs a DATE"
    if column.transform == Transform.POSTCODE_AREA:
        return None if code in _STRINGS and not result.binary else (
            "transform postcodeArea needs a string")
    wanted = column.type
    decimal = decimal_precision_scale(wanted)
    if decimal is not None:
        if code not in (FIELD_TYPE.DECIMAL, FIELD_TYPE.NEWDECIMAL):
            return f"contract type {wanted} needs a DECIMAL"
        precision, scale = decimal
        if result.scale != scale or result.decimal_precision > precision:
            return f"contract type {wanted} cannot hold DECIMAL({result.decimal_precision}," \
                   f"{result.scale}) exactly"
        return None
    accepted = {
        "integer": _INTEGERS,
        "boolean": {FIELD_TYPE.TINY, FIELD_TYPE.BIT},
        "double": {FIELD_TYPE.FLOAT, FIELD_TYPE.DOUBLE},
        "date": _DATES,
        "timestamp": _TIMESTAMPS,
        "time": {FIELD_TYPE.TIME},
        "json": _STRINGS | {FIELD_TYPE.JSON},
        "string": _STRINGS,
        "binary": _STRINGS,
    }[wanted]
    if code not in accepted:
        return f"contract type {wanted} does not fit the result type {result.describe()}"
    if wanted == "string" and result.binary:
        return f"contract type string does not fit binary data ({result.describe()}); use binary"
    if wanted == "integer" and code == FIELD_TYPE.LONGLONG and result.unsigned:
        return None  # values above 2^63-1 fail the run with a clear message
    return None


def compare_result(table: Table, result: list[ResultColumn], report: Report) -> None:
    got = [r.name for r in result]
    expected = [c.name for c in table.columns]
    if [g.lower() for g in got] != [e.lower() for e in expected]:
        _report_name_mismatch(table.name, got, expected, report)
        return
    for column, described in zip(table.columns, result, strict=True):
        problem = source_type_fits(column, described)
        if problem is not None:
            report.add(table.name, f"{problem} (the query yields {described.describe()})",
                       column.name)
        elif not column.nullable and described.nullable and column.transform is None:
            report.add(table.name, "the contract says not nullable but the query may yield "
                       "NULL", column.name)


@dataclass
class LiveResult:
    report: Report
    referenced: dict[str, set[tuple[str, str]]]
    """Output table -> source (table, column) pairs it reads."""
    source: dict[str, dict[str, str]]
    """The source schema as seen (information_schema)."""


def check_live(conn: Connection, spec: DataModelSpec, schema_name: str) -> LiveResult:
    """Validate every table against the live server. Call inside a read-only transaction."""
    report = Report()
    source = source_schema(conn, schema_name)
    referenced: dict[str, set[tuple[str, str]]] = {}
    for table in spec.tables:
        table_report = Report()
        query = check_table_syntax(table, table_report)
        if query is not None:
            referenced[table.name] = referenced_columns(table, query, schema_name, source,
                                                        table_report)
        if table_report.ok:
            try:
                compare_result(table, describe_result(conn, table.query), table_report)
            except Exception as err:  # the server's own words name the column
                table_report.add(table.name, f"the server refused the query: {_server_text(err)}")
        report.problems += table_report.problems
    return LiveResult(report=report, referenced=referenced, source=source)


def _server_text(err: BaseException) -> str:
    args: Iterable[Any] = getattr(err, "args", ())
    parts = list(args)
    if len(parts) >= 2 and isinstance(parts[0], int):
        return f"{parts[1]} (MySQL error {parts[0]})"
    return f"{type(err).__name__}: {err}"


def validate_in_read_only_transaction(conn: Connection, spec: DataModelSpec,
                                      schema_name: str) -> LiveResult:
    """`check_live` wrapped in its own READ ONLY transaction (the operator's apply-time check)."""
    with conn.cursor() as cur:
        cur.execute(f"USE `{schema_name}`")
        cur.execute("START TRANSACTION READ ONLY")
    try:
        return check_live(conn, spec, schema_name)
    finally:
        conn.rollback()
