"""Where a line of a dump belongs: which table's definition, data or triggers,
which view, routines or events. Pure, fed the plaintext chunk by chunk.

mysqldump and mariadb-dump announce every section with a comment line
(`-- Table structure for table `t``, `-- Dumping data for table `t``,
`-- Temporary view structure for view `v``, `-- Final view structure for view
`v``, `-- Dumping routines for database 'd'`, `-- Dumping events for database
'd'`). A load error of the mysql client says `at line N`; the locator turns N
into "the data of table `t`", so a failure names the table without quoting the
statement (which can hold a client's data).
"""

from __future__ import annotations

import bisect
import re

_HEADER = re.compile(
    rb"^-- (Table structure for table|Dumping data for table|Temporary view structure for view|"
    rb"Temporary table structure for view|Final view structure for view|Dumping routines for "
    rb"database|Dumping events for database) [`'](.*)[`']\s*$")
_WHAT = {
    b"Table structure for table": "the definition of table",
    b"Dumping data for table": "the data (or triggers) of table",
    b"Temporary view structure for view": "the placeholder of view",
    b"Temporary table structure for view": "the placeholder of view",
    b"Final view structure for view": "the definition of view",
    b"Dumping routines for database": "the routines of schema",
    b"Dumping events for database": "the events of schema",
}
_MAX_HEADER = 4096


class DumpLocator:
    """Counts lines and remembers where each section starts."""

    def __init__(self) -> None:
        self.lines = 0
        """Complete lines seen so far."""
        self._starts: list[int] = []
        self._names: list[str] = []
        self._head: bytes | None = None
        """The start of an incomplete last line that may be a section header."""

    def write(self, chunk: bytes) -> None:
        pos = 0
        if self._head is not None:
            newline = chunk.find(b"\n")
            if newline == -1:
                self._head = (self._head + chunk)[:_MAX_HEADER]
                return
            self._check(self._head + chunk[:newline], self.lines + 1)
            self._head = None
            self.lines += 1
            pos = newline + 1
        base = self.lines
        offsets = [pos] if chunk.startswith(b"-- ", pos) else []
        found = chunk.find(b"\n-- ", pos)
        while found != -1:
            offsets.append(found + 1)
            found = chunk.find(b"\n-- ", found + 1)
        cursor, before = pos, base
        for offset in offsets:
            before += chunk.count(b"\n", cursor, offset)
            cursor = offset
            end = chunk.find(b"\n", offset)
            if end == -1:
                self._head = chunk[offset:offset + _MAX_HEADER]
                break
            self._check(chunk[offset:end], before + 1)
        self.lines = base + chunk.count(b"\n", pos)
        last = chunk.rfind(b"\n", pos)
        tail = chunk[last + 1 if last != -1 else pos:]
        if self._head is None and 0 < len(tail) < 3 and b"-- ".startswith(tail):
            self._head = tail

    def _check(self, line: bytes, number: int) -> None:
        found = _HEADER.match(line)
        if found is None:
            return
        name = found[2].replace(b"``", b"`").decode("utf-8", errors="replace")
        self._starts.append(number)
        self._names.append(f"{_WHAT[found[1]]} `{name}`")

    def where(self, line: int) -> str:
        """The section holding 1-based `line`, e.g. "the data (or triggers) of table `t`"."""
        at = bisect.bisect_right(self._starts, line) - 1
        return self._names[at] if at >= 0 else "the dump's header"
