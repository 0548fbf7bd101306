"""Drop MariaDB's sandbox line from the head of a dump stream, so MySQL clients load it.

mariadb-dump 10.11.8 and later (also 10.5.25+, 10.6.18+, 11.x) write

    /*M!999999\\- enable the sandbox mode */

as the first line of every dump (followed by a space on Debian's 10.11.x). For
MariaDB's client it turns on sandbox mode (no `\\!` shell or file commands
while loading); MySQL's `mysql` client parses `\\-` as an unknown command and
stops with "ERROR at line 1". The mission promises a dump in MySQL 5.7/8.0
dialect, so the worker removes exactly that line, records the removal in the
manifest, and the plaintext digest is of the stream as stored.

The stage is bounded: it holds at most the first `MAX_HEAD` bytes while deciding
and passes everything else through untouched, chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

SANDBOX_LINE = b"/*M!999999\\- enable the sandbox mode */"
MAX_HEAD = 256
"""The longest first line we look at: the sandbox line plus trailing blanks."""

_BLANKS = b" \t\r"


class SandboxLineFilter:
    """Passes a dump through, without its first line when that is the sandbox line.

    `removed` tells afterwards whether the line was there.
    """

    def __init__(self) -> None:
        self.removed = False

    def __call__(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        head = b""
        source = iter(chunks)
        for chunk in source:
            head += chunk
            decided, rest = self._decide(head)
            if decided:
                if rest:
                    yield rest
                yield from source  # the rest of the stream, untouched
                return
        # The stream ended while the head was still undecided (short dump).
        if head.rstrip(_BLANKS + b"\n") == SANDBOX_LINE:
            self.removed = True
            return
        if head:
            yield head

    def _decide(self, head: bytes) -> tuple[bool, bytes]:
        """(decided, bytes to emit) for the head seen so far."""
        if not SANDBOX_LINE.startswith(head[:len(SANDBOX_LINE)]):
            return True, head  # not the sandbox line: pass everything
        newline = head.find(b"\n")
        if newline >= 0:
            if head[:newline].rstrip(_BLANKS) == SANDBOX_LINE:
                self.removed = True
                return True, head[newline + 1:]
            return True, head
        if len(head) > MAX_HEAD:
            return True, head  # a first line this long is something else
        return False, b""
