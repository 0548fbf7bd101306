"""The documents source: GNU tar (pax) of one mounted claim, fed a list we build.

We walk the tree ourselves and hand tar the exact list (NUL-separated, with
`--no-recursion`), because then
- the exclude globs mean what `exclusions.PathExcluder` says (unit tested),
  not what tar's pattern dialect happens to do;
- we count files and bytes exactly for the manifest.
GNU tar does the reading and formatting: Python's tarfile is several times
slower (per-file uid/gid name lookups among others). `--numeric-owner` skips
those lookups in tar too; pax format keeps UTF-8 names, long names and
sub-second mtimes. atime/ctime are dropped from the pax headers so reading
the archive's own content is what changes the digest, not the clock.

The tar is read back from its own stream while it is stored (tar_readback.py):
its member list, sizes and mtimes must equal this walk (each entry is handed to
the read-back before tar gets its name), so a document changed
between the walk and tar fails the attempt instead of leaving counts that
describe another volume.

Unreadable content fails the backup instead of being skipped: tar exits
non-zero ("Cannot open: Permission denied") and the walk raises on a directory
it cannot list. Failure messages carry counts only; file names (which can name
a client) go to the Job's log, not to the termination message or status.
"""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tenant_exit.worker.exclusions import PathExcluder
from tenant_exit.worker.pipeline import PipelineError, PlainStats
from tenant_exit.worker.processes import StderrTail, find_tool, read_chunks, spawn, stop
from tenant_exit.worker.progress import ProgressLog
from tenant_exit.worker.settings import DocumentSource
from tenant_exit.worker.tar_readback import WalkEntry


@dataclass
class TreeStats:
    files: int = 0
    bytes: int = 0
    directories: int = 0
    symlinks: int = 0
    other: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    """How many top-most paths each exclude pattern removed."""


class WalkError(Exception):
    """A path of the volume could not be listed or stat'ed. `str()` is the reason only;
    the path is kept apart so it reaches the log but not a status message."""

    def __init__(self, reason: str, path: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


def walk(root: Path, excluder: PathExcluder, stats: TreeStats,
         on_entry: Callable[[WalkEntry], None] | None = None) -> Iterator[str]:
    """Relative paths to archive under `root`, sorted, parents before children.

    Excluded directories are pruned. Counts go into `stats` as the walk goes, and
    each path with its size and mtime to `on_entry` (the read-back) before it is
    yielded.

    Memory is the names of the directories being visited (one per level, sorted):
    names, not `os.DirEntry` objects, which cost ~900 bytes each (tracemalloc: a
    walk peaked at 18.5 MiB with 20,000 entries in one directory and 46.8 MiB with
    50,000). The lstat per name is the syscall `DirEntry.stat` makes too.
    """

    # Plain str paths, not Path objects: a Path per directory was a third of the
    # walk's own CPU (cProfile, 45,000 entries), and the walk holds the GIL beside
    # the pump.
    def visit(directory: str, prefix: str) -> Iterator[str]:
        try:
            names = sorted(os.listdir(directory))
        except OSError as err:
            raise WalkError(f"cannot list a directory ({err.strerror})",
                            prefix or ".") from err
        for name in names:
            rel = f"{prefix}{name}"
            path = f"{directory}/{name}"
            try:
                info = os.lstat(path)
            except OSError as err:
                raise WalkError(f"cannot stat a file ({err.strerror})", rel) from err
            is_dir = stat.S_ISDIR(info.st_mode)
            pattern = excluder.pattern_for(rel, is_dir=is_dir)
            if pattern is not None:
                stats.excluded[pattern] = stats.excluded.get(pattern, 0) + 1
                continue
            if on_entry is not None:
                regular = stat.S_ISREG(info.st_mode)
                on_entry(WalkEntry(rel, regular, info.st_size if regular else 0,
                                   info.st_mtime_ns))
            if is_dir:
                stats.directories += 1
                yield rel
                yield from visit(path, rel + "/")
            else:
                if stat.S_ISREG(info.st_mode):
                    stats.files += 1
                    stats.bytes += info.st_size
                elif stat.S_ISLNK(info.st_mode):
                    stats.symlinks += 1
                else:
                    stats.other += 1
                yield rel

    yield from visit(str(root), "")


def tar_argv(root: Path) -> list[str]:
    return [
        find_tool("tar"), "--create", "--file=-", "--format=pax", "--numeric-owner",
        "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
        f"--directory={root}", "--no-recursion", "--null", "--verbatim-files-from",
        "--files-from=-",
    ]


def _unreadable_lines(stderr: str) -> list[str]:
    """tar's per-file complaints ("/usr/bin/tar: a/b.pdf: Cannot open: Permission
    denied"), without its closing "Exiting with failure status" line."""
    return [line for line in stderr.splitlines()
            if line.strip() and "Exiting with failure status" not in line]


class TarProducer:
    """GNU tar of one claim as a pipeline producer; the walk feeds tar's stdin."""

    def __init__(self, source: DocumentSource, log: ProgressLog,
                 on_walked: Callable[[WalkEntry], None] | None = None) -> None:
        self.source = source
        self.label = f"documents-{source.name}"
        self.stats = TreeStats()
        self._on_walked = on_walked
        """Gets every archived path as the walk saw it, before tar is handed it."""
        self._log = log
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: StderrTail | None = None
        self._feeder: threading.Thread | None = None
        self._feed_error: BaseException | None = None

    def start(self) -> None:
        if not self.source.path.is_dir():
            raise PipelineError(f"documents of claim '{self.source.name}': the mount path "
                                "is not a directory (is the claim mounted?)")
        self._proc, self._stderr = spawn(tar_argv(self.source.path), stdin=subprocess.PIPE)
        self._feeder = threading.Thread(target=self._feed, name=f"walk-{self.source.name}",
                                        daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        stdin = self._proc.stdin
        try:
            excluder = PathExcluder(self.source.exclude)
            for rel in walk(self.source.path, excluder, self.stats, self._on_walked):
                stdin.write(os.fsencode(rel) + b"\0")
        except BaseException as err:  # reported by finish()
            self._feed_error = err
        finally:
            try:
                stdin.close()
            except OSError as err:
                self._feed_error = self._feed_error or err

    def chunks(self) -> Iterator[bytes]:
        assert self._proc is not None and self._proc.stdout is not None
        yield from read_chunks(self._proc.stdout.fileno())

    def finish(self, plain: PlainStats) -> None:
        assert self._proc is not None and self._stderr is not None and self._feeder
        self._feeder.join()
        code = self._proc.wait()
        name = self.source.name
        if isinstance(self._feed_error, WalkError):
            err = self._feed_error
            self._log.event("unreadable", claim=name, path=err.path, reason=err.reason)
            raise PipelineError(f"documents of claim '{name}': {err.reason}; the path is in "
                                "the Job's log (file names can identify clients)")
        if code != 0:
            problems = _unreadable_lines(self._stderr.text())
            for line in problems:
                self._log.event("unreadable", claim=name, detail=line)
            kinds = sorted({line.rsplit(": ", 1)[-1] for line in problems}) or ["unknown"]
            raise PipelineError(
                f"documents of claim '{name}': tar exited with {code}; {len(problems)} "
                f"problem(s) ({', '.join(kinds)[:200]}); the paths are in the Job's log "
                "(file names can identify clients)")
        if self._feed_error is not None:
            raise PipelineError(f"documents of claim '{name}': listing files failed: "
                                f"{type(self._feed_error).__name__}") from self._feed_error

    def kill(self) -> None:
        stop(self._proc)
        if self._feeder is not None:
            self._feeder.join(5)
