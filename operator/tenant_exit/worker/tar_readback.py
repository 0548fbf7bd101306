"""Read the document tar back from its own stream and hold it against the walk.

The walk (documents.walk) lists every path with its size and mtime before tar
reads it; tar reads each file later. A file changed in between would be archived
as it is then, and the manifest's counts, taken from the walk, would describe
another volume. So the tar stream is parsed as it passes (a pipeline
PlainObserver, nothing spooled): each member's name, type, size and pax mtime,
and a SHA-256 of its content. At the end the member list must equal the walk,
path for path, with the walk's size and mtime for every regular file.

The per-file digests are folded into one `memberListSha256` in the manifest
(SHA-256 over "<sha256> <size> <path>\\n" per regular file, in archive order):
file names can identify clients, so the manifest carries no names; whoever holds
the identity can recompute it from the decrypted tar. Names of differing files
go to the Job's log only.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

from tenant_exit.worker.pipeline import PipelineError
from tenant_exit.worker.progress import ProgressLog

BLOCK = 512
_REGULAR = (b"0", b"\0", b"7")


# NamedTuples rather than frozen dataclasses: one of each is made per file, and a
# frozen dataclass's __init__ costs several times a tuple's.
class WalkEntry(NamedTuple):
    path: str
    regular: bool
    size: int
    mtime_ns: int


class Member(NamedTuple):
    path: str
    regular: bool
    size: int
    mtime_ns: int | None
    sha256: str


def _octal(field: bytes) -> int:
    text = field.split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def _pax_records(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    position = 0
    while position < len(data):
        space = data.index(b" ", position)
        length = int(data[position:space])
        key, _, value = data[space + 1:position + length - 1].partition(b"=")
        records[key.decode()] = value.decode("utf-8", errors="surrogateescape")
        position += length
    return records


class TarReader:
    """An incremental pax/ustar reader: `write` chunks; each member goes to
    `on_member` as it completes (in archive order).

    Content is hashed straight from each chunk (a memoryview, no copy); only a header
    split across chunks is gathered. Gathering every chunk into one buffer and
    cutting members off its front copied each byte twice and moved the rest of the
    buffer once per member: with ~40 KB files in 1 MiB chunks that was most of the
    read-back's CPU (py-spy, bench/ documents tree)."""

    def __init__(self, on_member: Callable[[Member], None]) -> None:
        self._on_member = on_member
        self._header_part = bytearray()
        self._pax: dict[str, str] = {}
        self._current: tuple[bytes, str, int, int | None] | None = None
        """(typeflag, path, size, mtime_ns) of the member whose content is read."""
        self._remaining = 0
        self._padding = 0
        self._hasher = hashlib.sha256()
        self._extended = bytearray()
        self.ended = False

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        pos, end = 0, len(chunk)
        while not self.ended:
            if self._current is not None:
                pos = self._content(view, pos, end)
                if self._current is not None:
                    return  # the member goes on in the next chunk
                continue
            if pos >= end:
                return
            if not self._header_part and end - pos >= BLOCK:  # the header is whole here
                pos += BLOCK
                self._header(bytes(view[pos - BLOCK:pos]))
                continue
            take = min(BLOCK - len(self._header_part), end - pos)
            self._header_part += view[pos:pos + take]
            pos += take
            if len(self._header_part) < BLOCK:
                return
            header = bytes(self._header_part)
            self._header_part.clear()
            self._header(header)

    def _content(self, view: memoryview, pos: int, end: int) -> int:
        """Consume content and padding of the current member from `view[pos:end]`;
        returns the new position (the member is finished when `_current` is None)."""
        assert self._current is not None
        if self._remaining:
            take = min(self._remaining, end - pos)
            piece = view[pos:pos + take]
            if self._current[0] in (b"x", b"g"):
                self._extended += piece
            else:
                self._hasher.update(piece)
            pos += take
            self._remaining -= take
            if self._remaining:
                return pos
        skip = min(self._padding, end - pos)
        pos += skip
        self._padding -= skip
        if self._padding:
            return pos
        self._finish()
        return pos

    def _header(self, header: bytes) -> None:
        if header == bytes(BLOCK):
            self.ended = True  # the first of the two zero blocks
            return
        typeflag = header[156:157]
        name = header[0:100].split(b"\0", 1)[0]
        prefix = header[345:500].split(b"\0", 1)[0]
        path = (prefix + b"/" + name if prefix else name).decode("utf-8", "surrogateescape")
        size = _octal(header[124:136])
        mtime = _octal(header[136:148]) * 10**9
        if typeflag not in (b"x", b"g"):
            path = self._pax.get("path", path)
            size = int(self._pax["size"]) if "size" in self._pax else size
            if "mtime" in self._pax:
                mtime = int(Decimal(self._pax["mtime"]) * 10**9)
        self._current = (typeflag, path, size, mtime)
        carries = typeflag in (b"x", b"g") or typeflag in _REGULAR
        self._remaining = size if carries else 0
        self._padding = (-self._remaining) % BLOCK
        self._hasher = hashlib.sha256()
        self._extended = bytearray()

    def _finish(self) -> None:
        assert self._current is not None
        typeflag, path, size, mtime = self._current
        self._current = None
        if typeflag == b"x":
            self._pax = _pax_records(bytes(self._extended))
            return
        if typeflag == b"g":
            return
        self._pax = {}
        regular = typeflag in _REGULAR
        self._on_member(Member(path.rstrip("/"), regular, size if regular else 0, mtime,
                               self._hasher.hexdigest()))


def _difference(entry: WalkEntry, member: Member) -> str | None:
    if member.regular != entry.regular:
        return "another kind of file in the archive"
    if entry.regular and member.size != entry.size:
        return f"size {entry.size} at the walk, {member.size} archived"
    if entry.regular and member.mtime_ns is not None and member.mtime_ns != entry.mtime_ns:
        return "modified between the walk and the archive"
    return None


class WalkComparison:
    """The walk against the archive, as both go: `walked` from the walk's thread
    (before tar is handed the path), `archived` from the reader's, `finish` once
    both ended.

    Only the walk's entries not yet met in the archive are held. `member_list_sha256`
    folds every regular member in archive order: SHA-256 over
    "<sha256> <size> <path>\\n"."""

    def __init__(self, on_difference: Callable[[str, str], None]) -> None:
        self._pending: dict[str, WalkEntry] = {}
        """Walk entries not yet archived, in walk order (dicts keep insertion order)."""
        self._lock = threading.Lock()
        self._on_difference = on_difference
        self._folded = hashlib.sha256()
        self.differences = 0

    def walked(self, entry: WalkEntry) -> None:
        with self._lock:
            self._pending[entry.path] = entry

    def archived(self, member: Member) -> None:
        if member.regular:
            self._folded.update(f"{member.sha256} {member.size} {member.path}\n"
                                .encode("utf-8", "surrogateescape"))
        with self._lock:
            entry = self._pending.pop(member.path, None)
        what = ("in the archive, not listed by the walk" if entry is None
                else _difference(entry, member))
        if what is not None:
            self._differ(member.path, what)

    def finish(self) -> None:
        """Whatever the walk listed and the archive never held is a difference too."""
        with self._lock:
            missing, self._pending = list(self._pending), {}
        for path in missing:
            self._differ(path, "listed by the walk, missing from the archive")

    def member_list_sha256(self) -> str:
        return self._folded.hexdigest()

    def held(self) -> int:
        """Walk entries held now: the walk's lead over the archive."""
        with self._lock:
            return len(self._pending)

    def _differ(self, path: str, what: str) -> None:
        self.differences += 1
        self._on_difference(path, what)


class TarReadBack:
    """The PlainObserver of one claim's tar: raises when the archive is not the walk.
    The walk reports its entries to `comparison.walked`."""

    def __init__(self, claim: str, log: ProgressLog) -> None:
        self.claim = claim
        self._log = log
        self.comparison = WalkComparison(self._log_difference)
        self.reader = TarReader(self.comparison.archived)
        self.member_list_sha256 = ""

    def _log_difference(self, path: str, what: str) -> None:
        self._log.event("document-differs", claim=self.claim, path=path, detail=what)

    def write(self, chunk: bytes) -> None:
        self.reader.write(chunk)

    def close(self) -> None:
        if not self.reader.ended:
            raise PipelineError(f"documents of claim '{self.claim}': the tar read back from "
                                "the stream has no end-of-archive blocks")
        self.comparison.finish()
        found = self.comparison.differences
        if found:
            raise PipelineError(
                f"documents of claim '{self.claim}': {found} file(s) of the archive read "
                "back from the stream differ from the volume walk (changed while the backup "
                "ran?); the paths are in the Job's log (file names can identify clients)")
        self.member_list_sha256 = self.comparison.member_list_sha256()

    def abort(self) -> None:
        return None
