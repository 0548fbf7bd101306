"""What a dump stream holds, read from the plaintext as it passes (pure, incremental).

The inventory says what the server holds; this says what the dump *contains*:
every table, view, sequence, routine, trigger and event a statement in the
stream creates, and the rows of each table's INSERTs. `completeness` compares
the two, so a dump that ends with `-- Dump completed` yet lacks a trigger or a
table (mysqldump leaves out what its account cannot see, without an error) or
holds one the inventory did not plan (DDL during the dump, an exclusion not
applied) fails the attempt with the names. The row counts come from the very
snapshot the archive holds, so the manifest's counts are the archive's.

Feeding is chunked and the chunk boundaries fall anywhere (inside a statement,
a string literal, an escape or a multi-byte character); the scanner keeps only
the state it needs. Statements are recognised from what both families' dump
clients write (mysqldump 5.7-9.x, mariadb-dump 10.x-11.x):
- every statement begins on a new line and its delimiter (`;`, or `;;` inside
  `DELIMITER ;;` blocks around triggers, routines and events) ends a line;
- object definitions may be wrapped in version comments
  (`/*!50003 CREATE*/ /*!50017 DEFINER=...*/ /*!50003 TRIGGER ...*/`), which are
  code, not comments; ordinary comments and quoted text are skipped;
- a view first appears as a stand-in (MySQL: `CREATE VIEW ... AS SELECT 1`,
  MariaDB before 11: `/*!50001 CREATE TABLE ...`) and again in its final form:
  a `CREATE TABLE` inside a version comment is such a stand-in, never a table;
- an INSERT is `(...),(...)` tuples, on one line (mysqldump) or one line per
  row (mariadb-dump 10.11+); rows are the `(` outside quoted values, and its
  `;` outside them ends it — numbers, NULL and `0x...` hex literals
  (`--hex-blob`) hold neither.

Memory: DDL statements are held until their delimiter (they are small). An
INSERT is held up to `_HELD_BYTES` and counted whole (`count_rows`); a larger one
(a row with a large BLOB) is counted as it streams past, never held. So is every
INSERT in mariadb-dump's one-row-a-line layout: a newline begins each row and
none is inside a value, so its rows are its newlines, counted chunk by chunk.
Statement ends (`;` then a newline) are found with one-byte searches (memchr).
On the bench's 1.5 GB mariadb-dump (bench/) in its own chunks (~23-30 KB), the
scan took 3.85 CPU-s when it held each statement and searched for `;\n` and
`),\n(`, and takes 0.94 now.

Cost, measured on the 2-core bench machine (one core, 200 MB of INSERTs fed in
64 KiB chunks, CPU seconds): mariadb-dump's text rows 0.57 s (~350 MB/s),
mysqldump's one-line text rows with ~8 quoted values per 140-byte row 2.25 s
(~90 MB/s, most of it RE2 with the GIL released), hex-BLOB rows 0.59 s
(~340 MB/s), one 19 MB row per INSERT 0.31 s (~610 MB/s). A scan of every
quoted value in Python reached 9 MB/s on the text rows, hence `count_rows`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HEAD_BYTES = 1 << 20
"""Bytes of a line read before deciding whether it starts an INSERT: its head is
`INSERT INTO <name> VALUES `, or with a column list (MySQL writes one for tables
with invisible columns) `INSERT INTO <name> (<columns>) VALUES `."""

_INSERT = re.compile(rb"INSERT\s+(?:IGNORE\s+)?INTO\s+`((?:[^`]|``)+)`\s*(?:\([^)]*\)\s*)?VALUES")
_DELIMITER = re.compile(rb"DELIMITER\s+(\S+)\s*$")

_HELD_BYTES = 8 << 20
"""An INSERT up to this size is held and counted whole; mysqldump writes at most
`net_buffer_length` (1 MiB) per INSERT unless one row is larger."""
_BYTES_PER_SKIPPED_VALUE = 512
"""Above this many bytes per quote, skipping each quoted value in Python beats RE2."""
_ROW_RE2 = r"\((?:[^'()]|'(?:[^'\\]|\\.)*')*\)"
"""One row: `(` values `)`, a quoted value with its backslash escapes."""

# Inside a quoted value of an INSERT: everything up to the closing quote or a
# backslash (an escape, `\\'` is a quote inside the value).
_QUOTED_BODY = re.compile(rb"[^'\\]*")

# MariaDB writes a trigger's statement as it was typed: its name may be bare or
# qualified by the schema (`CREATE TRIGGER ons.trg ...`); elsewhere names are quoted.
_NAME = r"(?:(?:`(?:[^`]|``)+`|[\w$]+)\s*\.\s*)?(?:`(?P<quoted>(?:[^`]|``)+)`|(?P<bare>[\w$]+))"
_DEFINER = r"(?:DEFINER\s*=\s*(?:`(?:[^`]|``)*`|'(?:[^']|'')*'|[^\s@]+)" \
           r"(?:@(?:`(?:[^`]|``)*`|'(?:[^']|'')*'|\S+))?\s+)?"
_OBJECT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in (
        ("table", rf"^CREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}"),
        ("sequence", rf"^CREATE\s+(?:OR\s+REPLACE\s+)?SEQUENCE\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}"),
        ("view", rf"^CREATE\s+(?:OR\s+REPLACE\s+)?(?:ALGORITHM\s*=\s*\w+\s+)?{_DEFINER}"
                 rf"(?:SQL\s+SECURITY\s+\w+\s+)?VIEW\s+{_NAME}"),
        ("procedure", rf"^CREATE\s+(?:OR\s+REPLACE\s+)?{_DEFINER}PROCEDURE\s+{_NAME}"),
        ("function", rf"^CREATE\s+(?:OR\s+REPLACE\s+)?{_DEFINER}(?:AGGREGATE\s+)?FUNCTION\s+"
                     rf"(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}"),
        ("trigger", rf"^CREATE\s+(?:OR\s+REPLACE\s+)?{_DEFINER}TRIGGER\s+{_NAME}"),
        ("event", rf"^CREATE\s+(?:OR\s+REPLACE\s+)?{_DEFINER}EVENT\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                  rf"{_NAME}"),
    ))
_VERSION_MARKS = re.compile(r"/\*!\d*|\*/")
_STAND_IN = re.compile(r"^\s*/\*!\d+\s+CREATE\s+(?:OR\s+REPLACE\s+)?TABLE\b", re.IGNORECASE)

# Lexing a DDL statement line by line: what can open or close a quoted part.
_OPENERS = re.compile(rb"['\"`#]|/\*(?!!)|--(?=[\s])")
_CLOSERS = {b"'": re.compile(rb"\\.|'", re.DOTALL), b'"': re.compile(rb'\\.|"', re.DOTALL),
            b"`": re.compile(rb"`"), b"/*": re.compile(rb"\*/")}


@dataclass
class DumpContents:
    """The objects a dump stream creates, by kind, and the rows it inserts per table."""

    tables: set[str] = field(default_factory=set)
    views: set[str] = field(default_factory=set)
    sequences: set[str] = field(default_factory=set)
    procedures: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    triggers: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    rows: dict[str, int] = field(default_factory=dict)
    """Rows in the INSERTs of each table (a table without rows has no entry)."""

    def add(self, kind: str, name: str) -> None:
        {"table": self.tables, "view": self.views, "sequence": self.sequences,
         "procedure": self.procedures, "function": self.functions,
         "trigger": self.triggers, "event": self.events}[kind].add(name)


def _unquote(name: bytes | str) -> str:
    text = name if isinstance(name, str) else bytes(name).decode("utf-8", "replace")
    return text.replace("``", "`")


def statement_object(statement: str) -> tuple[str, str] | None:
    """(kind, name) of the object a complete DDL statement creates, or None (pure)."""
    if _STAND_IN.match(statement):
        return None  # a view's stand-in table (MariaDB < 11), replaced by the view
    head = " ".join(_VERSION_MARKS.sub(" ", statement[:4096]).split())
    for kind, pattern in _OBJECT_PATTERNS:
        found = pattern.match(head)
        if found:
            return kind, _unquote(found["quoted"]) if found["quoted"] else found["bare"]
    return None


class DumpScanner:
    """Feed plaintext chunks in order, then `finish()`: what the dump created."""

    def __init__(self) -> None:
        self.contents = DumpContents()
        self._delimiter = b";"
        self._line = bytearray()
        """The current line so far: its head (INSERT or not is undecided), or a line
        of the DDL statement being collected."""
        self._statement = bytearray()
        """The DDL statement being collected, complete lines only."""
        self._open = False
        """True while a DDL statement is being collected (it has not met its delimiter)."""
        self._quote: bytes | None = None
        """Inside that statement: the quote (`'`, `"`, backtick, `/*`) open at line end."""
        self._insert: str | None = None
        """The table of the INSERT statement being read."""
        self._values = bytearray()
        """Its values so far (after `VALUES`), while they are held."""
        self._streaming = False
        """True when the statement outgrew `_HELD_BYTES` and is counted as it passes."""
        self._per_line: int | None = None
        """mariadb-dump's one row per line: the rows counted so far (None for other
        layouts); such values are counted as they pass, never held."""
        self._per_line_semicolon = False
        """Its last chunk ended in `;`: a newline first in the next ends the statement."""
        self._in_value = False
        self._escape = False

    def feed(self, chunk: bytes) -> None:
        pos, end = 0, len(chunk)
        while pos < end:
            if self._insert is not None:
                pos = self._scan_insert(chunk, pos, end)
            else:
                pos = self._read_line(chunk, pos, end)

    def finish(self) -> DumpContents:
        """End of the stream: a last line without a newline is read too."""
        if self._insert is None and self._line:
            self._line_done(bytes(self._line) + b"\n")
        if self._open:
            self._end_statement()
        return self.contents

    # -- lines --------------------------------------------------------------
    def _read_line(self, chunk: bytes, pos: int, end: int) -> int:
        newline = chunk.find(b"\n", pos, end)
        stop = end if newline < 0 else newline + 1
        if not self._open and len(self._line) < _HEAD_BYTES:
            # The head of a line between statements: an INSERT is scanned, not held.
            take = min(stop, pos + _HEAD_BYTES - len(self._line))
            self._line += chunk[pos:take]
            if self._line.startswith(b"INSERT"):
                head = bytes(self._line)
                found = _INSERT.match(head)
                if found is not None:
                    self._line.clear()
                    self._begin_insert(_unquote(found.group(1)))
                    self._scan_insert(head, found.end(), len(head))
                    return take
            if newline >= 0 and take == stop:
                line = bytes(self._line)
                self._line.clear()
                self._line_done(line)
            return take
        # Inside a statement (or a line head too long to be an INSERT): whole lines.
        self._line += chunk[pos:stop]
        if newline >= 0:
            line = bytes(self._line)
            self._line.clear()
            self._line_done(line)
        return stop

    def _line_done(self, line: bytes) -> None:
        """One complete line (with its newline) outside INSERTs."""
        if not self._open:
            stripped = line.strip()
            if not stripped or stripped.startswith((b"-- ", b"--\n")) or stripped == b"--":
                return  # blank or comment lines between statements
            delimiter = _DELIMITER.match(stripped)
            if delimiter:
                self._delimiter = delimiter.group(1)  # a client command, not SQL
                return
            self._open = True
            self._quote = None
        self._statement += line
        self._lex(line)
        if self._quote is None and line.rstrip().endswith(self._delimiter):
            self._end_statement()

    def _lex(self, line: bytes) -> None:
        """Which quote (or block comment) is open at the end of `line`."""
        pos = 0
        while pos < len(line):
            if self._quote is None:
                opener = _OPENERS.search(line, pos)
                if opener is None:
                    return
                if opener.group() in (b"#", b"--"):
                    return  # the rest of the line is a comment
                self._quote = opener.group()
                pos = opener.end()
            else:
                closer = _CLOSERS[self._quote].search(line, pos)
                if closer is None:
                    return
                pos = closer.end()
                if not closer.group().startswith(b"\\"):
                    self._quote = None

    def _end_statement(self) -> None:
        text = bytes(self._statement).decode("utf-8", "replace").strip()
        self._statement.clear()
        self._open = False
        self._quote = None
        delimiter = self._delimiter.decode("utf-8", "replace")
        if text.endswith(delimiter):
            text = text[:-len(delimiter)]
        found = statement_object(text)
        if found is not None:
            self.contents.add(*found)

    # -- INSERT statements: count the rows ---------------------------------
    def _begin_insert(self, table: str) -> None:
        self._insert = table
        self.contents.rows.setdefault(table, 0)
        self._values.clear()
        self._streaming = False
        self._per_line = None
        self._in_value = self._escape = False

    def _scan_insert(self, chunk: bytes, pos: int, end: int) -> int:
        """Collect the INSERT's values up to its end; a statement larger than
        `_HELD_BYTES` (a row with a large value) is counted as it streams past."""
        if self._streaming:
            return self._stream_values(chunk, pos, end)
        if self._per_line is not None:
            return self._scan_per_line(chunk, pos, end)
        if (self._values == b"\n" and chunk.startswith(b"(", pos)) or (
                not self._values and chunk.startswith(b"\n(", pos)):
            # Values a raw newline never splits, one row a line: the rows are the
            # newlines, counted without holding the statement.
            self._per_line = 1 if self._values else 0  # the newline already held
            self._per_line_semicolon = False
            self._values.clear()
            return self._scan_per_line(chunk, pos, end)
        # Values never hold a raw newline (both clients write `\\n`): the first
        # `;` before a newline ends the statement.
        if self._values.endswith(b";") and pos < end and chunk[pos] == 0x0A:
            self._values.pop()
            self._end_insert()
            return pos + 1
        stop = _statement_end(chunk, pos, end)
        view = memoryview(chunk)  # appended from a view: one copy, not two
        if stop < 0:
            self._values += view[pos:end]
            if len(self._values) > _HELD_BYTES:
                held = bytes(self._values)
                self._values.clear()
                self._streaming = True
                self._stream_values(held, 0, len(held))
            return end
        self._values += view[pos:stop]
        self._end_insert()
        return stop + 2

    def _scan_per_line(self, chunk: bytes, pos: int, end: int) -> int:
        assert self._per_line is not None and self._insert is not None
        if self._per_line_semicolon and pos < end and chunk[pos] == 0x0A:
            return self._end_per_line(pos + 1)
        stop = _statement_end(chunk, pos, end)
        last = end if stop < 0 else stop
        # Each row is on a line of its own, after a newline (the values begin with
        # one): the rows so far are the newlines so far, and a newline is one byte,
        # so none straddles two chunks.
        self._per_line += chunk.count(b"\n", pos, last)
        if stop < 0:
            if end > pos:
                self._per_line_semicolon = chunk[end - 1] == 0x3B
            return end
        return self._end_per_line(stop + 2)

    def _end_per_line(self, position: int) -> int:
        assert self._per_line is not None and self._insert is not None
        self.contents.rows[self._insert] += self._per_line
        self._per_line = None
        self._insert = None
        return position

    def _end_insert(self) -> None:
        table = self._insert
        assert table is not None
        self.contents.rows[table] += count_rows(self._values)
        self._values.clear()
        self._insert = None

    def _stream_values(self, chunk: bytes, pos: int, end: int) -> int:
        table = self._insert
        assert table is not None
        rows = self.contents.rows
        while pos < end:
            if self._escape:
                self._escape = False
                pos += 1
            elif self._in_value:
                found = _QUOTED_BODY.match(chunk, pos, end)
                pos = found.end() if found else pos
                if pos < end:
                    if chunk[pos] == 0x5C:  # a backslash: the next byte is escaped
                        self._escape = True
                    else:
                        self._in_value = False
                    pos += 1
            else:
                quote = chunk.find(b"'", pos, end)
                semicolon = chunk.find(b";", pos, end)
                stop = min(i for i in (quote, semicolon, end) if i >= 0)
                rows[table] += chunk.count(b"(", pos, stop)
                if stop == end:
                    return end
                if stop == semicolon:  # outside a value only the statement's end
                    self._insert = None
                    return semicolon + 1
                self._in_value = True
                pos = quote + 1
        return pos


def _statement_end(chunk: bytes, pos: int, end: int) -> int:
    """Where `;\\n` begins in `chunk[pos:end]`, or -1. Searched as `;` and then its
    next byte: a one-byte search is memchr (~30 GB/s here) where `find(b";\\n")`
    ran at ~0.7 GB/s, and a `;` inside a value is rare enough to step over."""
    found = chunk.find(b";", pos, end)
    while 0 <= found < end - 1:
        if chunk[found + 1] == 0x0A:
            return found
        found = chunk.find(b";", found + 1, end)
    return -1


def _count_quoted(values: bytes | bytearray) -> int:
    """Rows of an INSERT's values with few quoted values: skip each (pure)."""
    rows, pos, end = 0, 0, len(values)
    while pos < end:
        quote = values.find(b"'", pos)
        if quote < 0:
            return rows + values.count(b"(", pos)
        rows += values.count(b"(", pos, quote)
        pos = quote + 1
        while True:  # to the closing quote, over escapes
            found = _QUOTED_BODY.match(values, pos)
            pos = found.end() if found else pos
            if pos >= end or values[pos] != 0x5C:
                pos += 1
                break
            pos += 2
    return rows


def count_rows(values: bytes | bytearray) -> int:
    """Rows in the values of one complete INSERT (after `VALUES`, without its `;`).

    Rows are the `(` outside quoted values. Three ways, cheapest first (figures
    on the bench machine, one core): no quote at all: `bytes.count`, above 1 GB/s
    (mariadb-dump's one-row-a-line INSERTs never get here: the scanner counts their
    newlines as they pass, `DumpScanner._scan_per_line`). Few quotes (large
    hex BLOBs, numbers): Python skips each quoted value, ~1 GB/s on BLOB rows but
    ~2 µs per value. Many quotes (mysqldump's one-line text rows): one regular
    expression in RE2 through pyarrow, ~150 MB/s with the GIL released, where
    Python's `re` reached ~50 MB/s and the skipping loop ~9 MB/s.
    """
    quotes = values.count(b"'")
    if quotes == 0:
        return values.count(b"(")
    if quotes * _BYTES_PER_SKIPPED_VALUE < len(values):
        return _count_quoted(values)
    import pyarrow as pa  # only the worker needs it, and only for such rows
    import pyarrow.compute as pc

    counted = pc.count_substring_regex(pa.array([bytes(values)], pa.binary()), _ROW_RE2)[0]
    return int(counted.as_py())
