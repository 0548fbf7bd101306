"""One background server process of the test harness, owned by PID.

MariaDB and the S3 server share the same life cycle needs: start in their own
session (so a Ctrl-C in the terminal reaches pytest, which then tears down in
order), log to a file the test can show on failure, die with the test process
even if that is killed hard (PR_SET_PDEATHSIG), and stop by PID with
terminate -> wait -> kill. Nothing here matches processes by name.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A loopback TCP port free right now (the usual small race is accepted in tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Resolved in the parent: after fork the child must not dlopen (another thread
# of the test process may hold the loader lock), only call.
_PRCTL = _load_prctl()


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: if the test process dies without
    # running its teardown (SIGKILL, OOM), the kernel sends SIGTERM to the server.
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class ServerProcess:
    """A started child process with its log file; `stop()` is idempotent."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.name = name
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                env=env,
                cwd=cwd,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `ready` until true; fail early and with the log tail if the process died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with code {self.popen.returncode} before {what}:\n"
                    f"{self.log_tail()}"
                )
            if ready():
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not {what} after {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the process group, wait `grace` seconds, then SIGKILL it."""
        if self.popen.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the process group at once (for crash tests) and reap it."""
        if self.popen.poll() is None:
            self._signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)

    def _signal(self, sig: signal.Signals) -> None:
        # The child leads its own session, so its group id is its pid; signalling
        # the group also reaches helpers it may have forked.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)


class ChildServer:
    """The life cycle the harness's servers share: one ServerProcess at a time,
    stopped at interpreter exit too, and a workdir deleted on `__exit__` when the
    server created it (a given workdir is the caller's). Subclasses implement
    `start()` with `_launch()` and set LOG_NAME and STOP_GRACE."""

    LOG_NAME = "server.log"
    STOP_GRACE = 10.0

    def __init__(self, workdir: Path | None, prefix: str) -> None:
        self._owns_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=prefix))
        self._proc: ServerProcess | None = None
        self._atexit_registered = False

    def start(self, timeout: float = 30.0) -> Self:
        raise NotImplementedError

    def _launch(self, name: str, argv: list[str], env: dict[str, str] | None = None,
                cwd: Path | None = None) -> ServerProcess:
        self._proc = ServerProcess(name, argv, self.workdir / self.LOG_NAME, env=env, cwd=cwd)
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        return self._proc

    def running(self) -> bool:
        return self._proc is not None and self._proc.alive()

    def stop(self, grace: float | None = None) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds (default STOP_GRACE)."""
        if self._proc is not None:
            self._proc.stop(self.STOP_GRACE if grace is None else grace)

    def kill(self) -> None:
        """SIGKILL the server at once — for fault tests."""
        if self._proc is not None:
            self._proc.kill()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running() and self._proc is not None else None

    def log(self) -> str:
        return (self.workdir / self.LOG_NAME).read_text(errors="replace")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
