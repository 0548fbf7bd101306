"""Rows -> Parquet (and optional CSV), streamed in row groups, with exact types.

Each contract type has one Arrow type; values are converted by pymysql first
(DECIMAL -> Decimal, DATETIME(6) -> datetime with microseconds, DATE -> date)
and handed to Arrow with the type given explicitly, never inferred:
- decimal(p,s) -> decimal128(p,s): no float on the way, cents stay cents;
- timestamp -> timestamp[us] without a zone: MySQL DATETIME has none, and
  microseconds are Arrow's unit, so DATETIME(6) round-trips exactly;
- date -> date32 (days since 1970, negative before it): Python dates and Arrow
  agree on 1931-05-17, unlike tools that go through a local-time epoch;
- json -> string: the JSON text as the server returns it.

Memory holds one row group (`rows_per_group` rows) at a time; the writer flushes
it into the sink as soon as it is full. The sink is any object with `write`:
the upload streams, so no table is ever held whole, in memory or on disk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tenant_exit.api.datamodel import decimal_precision_scale

ROWS_PER_GROUP = 50_000


def arrow_type(column_type: str) -> pa.DataType:
    precision_scale = decimal_precision_scale(column_type)
    if precision_scale is not None:
        return pa.decimal128(*precision_scale)
    return {
        "string": pa.string(),
        "json": pa.string(),
        "integer": pa.int64(),
        "boolean": pa.bool_(),
        "double": pa.float64(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
        "time": pa.time64("us"),
        "binary": pa.binary(),
    }[column_type]


def to_arrow_value(column_type: str, value: Any) -> Any:
    """The few conversions pymysql's Python values need before Arrow takes them."""
    if value is None:
        return None
    if column_type in ("string", "json"):
        return value.decode() if isinstance(value, bytes | bytearray) else str(value)
    if column_type == "boolean":
        return bool(value)
    if column_type == "time" and isinstance(value, timedelta):
        # MySQL TIME is a duration (-838h..838h); only a time of day fits Arrow's time64.
        if not timedelta(0) <= value < timedelta(days=1):
            raise ValueError(f"TIME value {value} is not a time of day")
        return (datetime.min + value).time()
    if column_type == "date" and isinstance(value, datetime):
        return value.date()
    if column_type == "timestamp" and isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value


class ByteSink(Protocol):
    def write(self, data: bytes) -> Any: ...


class CountingSink:
    """A write-only file object for pyarrow: counts and hashes what passes through.

    pyarrow's writers need `tell()` on a Python file; the count is that position,
    so the sink need not be seekable (a multipart upload is not)."""

    def __init__(self, target: ByteSink) -> None:
        self._target = target
        self._sha256 = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        chunk = bytes(data)
        self._sha256.update(chunk)
        self.size += len(chunk)
        self._target.write(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()


def identity(value: Any) -> Any:
    """The converter of a column published as read (recognised, so it costs nothing)."""
    return value


@dataclass(frozen=True)
class OutputColumn:
    name: str
    type: str
    nullable: bool
    source_index: int
    """Position in the SELECT's result row."""
    convert: Callable[[Any], Any]
    """Pseudonymisation or transform (`identity` for most columns)."""


def arrow_schema(columns: Sequence[OutputColumn]) -> pa.Schema:
    return pa.schema([pa.field(c.name, arrow_type(c.type), nullable=c.nullable)
                      for c in columns])


class NullInNotNullable(ValueError):
    pass


# Contract types whose pymysql value Arrow does not take as is (validate.py admits
# only source types whose Python value already fits the others).
_NEEDS_FIXUP = frozenset({"boolean", "time", "json"})


def record_batch(rows: Sequence[Sequence[Any]], columns: Sequence[OutputColumn],
                 schema: pa.Schema, table: str) -> pa.RecordBatch:
    """One row group. Column-wise, and per-value Python work only where a column
    needs it (a pseudonym, a transform, a type fix-up): it is the hot loop."""
    arrays = []
    for column, field in zip(columns, schema, strict=True):
        index = column.source_index
        values = [row[index] for row in rows]
        if column.convert is not identity:
            convert = column.convert
            values = [convert(v) for v in values]
        if column.type in _NEEDS_FIXUP:
            kind = column.type
            values = [to_arrow_value(kind, v) for v in values]
        array = pa.array(values, type=field.type)
        if not column.nullable and array.null_count:
            raise NullInNotNullable(
                f"table {table}, column {column.name}: NULL in a column the contract "
                "declares not nullable")
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


@dataclass
class WrittenTable:
    rows: int = 0
    row_groups: int = 0


def write_table(batches: Iterable[Sequence[Sequence[Any]]], columns: Sequence[OutputColumn],
                table: str, parquet_sink: CountingSink,
                csv_sink: CountingSink | None = None) -> WrittenTable:
    """Stream `batches` of result rows (one row group each) into Parquet (zstd) and,
    if given, CSV. The Parquet footer is written when the iterator ends."""
    schema = arrow_schema(columns)
    written = WrittenTable()
    parquet = pq.ParquetWriter(parquet_sink, schema, compression="zstd",
                               write_statistics=True)
    csv = pacsv.CSVWriter(csv_sink, schema) if csv_sink is not None else None
    try:
        for rows in batches:
            if not rows:
                continue
            batch = record_batch(rows, columns, schema, table)
            parquet.write_batch(batch)
            if csv is not None:
                csv.write_batch(batch)
            written.rows += len(rows)
            written.row_groups += 1
    finally:
        parquet.close()
        if csv is not None:
            csv.close()
    return written
