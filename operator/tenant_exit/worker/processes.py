"""Child processes of the pipelines: start, drain stderr, widen pipes, stop by PID.

Every stage's stderr is drained by its own thread: a child that writes more
error text than a pipe holds (64 KiB) would otherwise block, and with it the
whole pipeline. Only the tail is kept, for the failure message and the log.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence

_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
PIPE_SIZE = 1 << 20
READ_SIZE = 1 << 20


class ToolMissing(RuntimeError):
    """A command-line tool the worker image must contain is not on PATH."""


def find_tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise ToolMissing(f"none of {', '.join(names)} is installed in the worker image")


def widen_pipe(fd: int) -> None:
    """Ask Linux for a 1 MiB pipe buffer: fewer wake-ups between stages. Best effort
    (capped by /proc/sys/fs/pipe-max-size for unprivileged processes)."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, _F_SETPIPE_SZ, PIPE_SIZE)


class StderrTail:
    """Reads a child's stderr to the end in a thread, keeping the last `limit` bytes."""

    def __init__(self, proc: subprocess.Popen[bytes], limit: int = 64 * 1024) -> None:
        self._stream = proc.stderr
        self._limit = limit
        self._data = bytearray()
        self._thread = threading.Thread(target=self._drain, daemon=True,
                                        name=f"stderr-{proc.pid}")
        self._thread.start()

    def _drain(self) -> None:
        if self._stream is None:
            return
        fd = self._stream.fileno()
        with contextlib.suppress(OSError, ValueError):
            while chunk := os.read(fd, 65536):
                self._data += chunk
                if len(self._data) > 2 * self._limit:
                    del self._data[: len(self._data) - self._limit]

    def text(self, timeout: float = 10.0) -> str:
        self._thread.join(timeout)
        return bytes(self._data[-self._limit:]).decode("utf-8", errors="replace")


def spawn(argv: Sequence[str], *, stdin: int | None, env: dict[str, str] | None = None
          ) -> tuple[subprocess.Popen[bytes], StderrTail]:
    """Start a stage with stdout piped and stderr drained."""
    proc = subprocess.Popen(list(argv), stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, close_fds=True)
    assert proc.stdout is not None
    widen_pipe(proc.stdout.fileno())
    return proc, StderrTail(proc)


def stop(proc: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    """Kill a stage that is still running (by its own PID) and reap it."""
    if proc is None:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout)


def tool_version(argv: Sequence[str]) -> str:
    """First line of `<tool> --version`, or 'unknown'."""
    try:
        out = subprocess.run(list(argv), capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (out.stdout or out.stderr).decode("utf-8", errors="replace").strip()
    return text.splitlines()[0].strip() if text else "unknown"


def tool_output(argv: Sequence[str]) -> str:
    """The whole stdout of a short-lived command (`--help`), or '' when it cannot run."""
    try:
        out = subprocess.run(list(argv), capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.decode("utf-8", errors="replace")


def read_chunks(fd: int) -> Iterator[bytes]:
    """Yield what arrives on `fd` until EOF (os.read releases the GIL)."""
    while chunk := os.read(fd, READ_SIZE):
        yield chunk
