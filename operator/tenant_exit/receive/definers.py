"""The definer policy: what to do with the DEFINER clauses of a dump.

mysqldump writes every view, trigger, routine and event with the account that
defined it on the source server, e.g.

    /*!50013 DEFINER=`app`@`%` SQL SECURITY DEFINER */
    /*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER ...
    CREATE DEFINER=`root`@`localhost` PROCEDURE `p`() ...

Creating an object with another account as its definer needs SUPER (MySQL 5.7,
MariaDB) or SET_USER_ID / SET_ANY_DEFINER (MySQL 8.0 / 8.2+), which the user who
loads an archive seldom has, and the source's accounts do not exist on the
customer's server anyway. So by default the clause is removed (`strip`): the
object is then defined by the loading user, which MySQL and MariaDB allow
without any extra privilege. `rewrite` names another account instead; `keep`
leaves the dump as it is.

The rewrite works line by line and never touches an INSERT line, so row data that
happens to contain the text `DEFINER=` is loaded unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class DefinerPolicy(StrEnum):
    STRIP = "strip"
    REWRITE = "rewrite"
    KEEP = "keep"


# An account as mysqldump quotes it: `user`@`host` (backticks doubled inside),
# or with single quotes / bare words as hand-written SQL has it.
_PART = r"(?:`(?:[^`]|``)*`|'(?:[^'\\]|\\.|'')*'|[A-Za-z0-9_.$%-]+)"
_DEFINER = re.compile(rb"DEFINER\s*=\s*" + _PART.encode() + rb"\s*@\s*" + _PART.encode()
                      + rb"|DEFINER\s*=\s*CURRENT_USER(?:\s*\(\s*\))?", re.IGNORECASE)
# The versioned comment mysqldump wraps a definer in, e.g. `/*!50017 DEFINER=...*/`,
# goes as a whole; an empty `/*!50013 SQL SECURITY DEFINER */` would be harmless,
# but a left-over `/*!50017 */` is just noise.
_WRAPPED = re.compile(rb"/\*!\d{5}\s+(?P<definer>" + _DEFINER.pattern + rb")\s*\*/",
                      re.IGNORECASE)
_DATA_LINE = re.compile(rb"^\s*(?:INSERT|REPLACE)\s", re.IGNORECASE)
_ACCOUNT = re.compile(r"^(?P<user>[^@]+)@(?P<host>[^@]+)$")


@dataclass(frozen=True)
class Definers:
    policy: DefinerPolicy = DefinerPolicy.STRIP
    account: str | None = None
    """`user@host` for REWRITE."""

    def __post_init__(self) -> None:
        if self.policy is DefinerPolicy.REWRITE:
            if self.account is None or _ACCOUNT.match(self.account) is None:
                raise ValueError("--definer rewrite needs --definer-account user@host")

    def replacement(self) -> bytes:
        assert self.account is not None
        match = _ACCOUNT.match(self.account)
        assert match is not None
        user = match["user"].replace("`", "``")
        host = match["host"].replace("`", "``")
        return f"DEFINER=`{user}`@`{host}`".encode()

    def apply(self, line: bytes) -> bytes:
        """One line of the dump with the policy applied (pure)."""
        if self.policy is DefinerPolicy.KEEP or b"DEFINER" not in line.upper():
            return line
        if _DATA_LINE.match(line):
            return line
        if self.policy is DefinerPolicy.STRIP:
            line = _WRAPPED.sub(b"", line)
            return _DEFINER.sub(b"", line)
        new = self.replacement()
        return _DEFINER.sub(lambda _: new, line)


class Writable(Protocol):
    """What LineFilter writes to (a pipe's stdin, a BytesIO)."""

    def write(self, data: bytes, /) -> int: ...
    def flush(self) -> None: ...


class LineFilter:
    """A writable stream that applies `Definers` to whole lines and passes them on.

    Bounded by the longest line: mysqldump's extended INSERTs are at most
    net_buffer_length (1 MiB by default) each."""

    def __init__(self, definers: Definers, out: Writable) -> None:
        self._definers = definers
        self._out = out
        self._pending = b""
        self.changed = 0
        """Lines the policy changed."""

    def write(self, data: bytes) -> int:
        buffer = self._pending + bytes(data)
        *lines, self._pending = buffer.split(b"\n")
        for line in lines:
            self._emit(line + b"\n")
        return len(data)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        if self._pending:
            self._emit(self._pending)
            self._pending = b""
        self.flush()

    def _emit(self, line: bytes) -> None:
        applied = self._definers.apply(line)
        if applied != line:
            self.changed += 1
        self._out.write(applied)

