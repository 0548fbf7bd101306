"""One contender's run, measured: wall seconds, CPU-seconds of its own process tree,
and the peak RSS of its largest process.

CPU comes from `os.wait4` on the contender's top process: Linux folds into it the
user+sys time of every descendant that was waited for (a shell pipeline waits for
all its stages; the worker waits for mysqldump, tar and age), and nothing of the DB
server or the S3 server, which are the bench's children, not the contender's.

Peak RSS is the largest VmHWM seen among the tree's processes, sampled from /proc
every 50 ms (not the sum of a pipeline's stages). Not `ru_maxrss`: Linux carries
the pre-exec high-water mark into it, i.e. the forking bench's own ~95 MiB.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Measured:
    wall: float
    cpu: float
    peak_rss_kib: int

    def line(self, size: int) -> str:
        return (f"{self.wall:7.2f} s wall {self.cpu:7.2f} s CPU "
                f"{size / 1e6 / self.wall:7.1f} MB/s {self.peak_rss_kib / 1024:6.0f} MiB RSS")


class StepFailed(SystemExit):
    pass


def run_measured(argv: list[str], *, env: dict[str, str] | None = None,
                 stdout: IO[Any] | int = subprocess.DEVNULL,
                 stdin: IO[Any] | int = subprocess.DEVNULL) -> tuple[Measured, str]:
    """Run `argv` to its end; returns the measurement and its stderr (text)."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdin=stdin, stdout=stdout,
                            stderr=subprocess.PIPE, cwd=REPO)
    assert proc.stderr is not None
    err = bytearray()

    def drain() -> None:
        assert proc.stderr is not None
        while chunk := os.read(proc.stderr.fileno(), 1 << 16):
            err.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.05):
            peak = max([peak, *(_hwm_kib(pid) for pid in _tree(proc.pid))])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    sampler.join()
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    text = err.decode("utf-8", errors="replace")
    if proc.returncode != 0:
        raise StepFailed(f"bench step failed ({proc.returncode}): {argv!r}\n{text[-3000:]}")
    return Measured(wall, usage.ru_utime + usage.ru_stime, peak), text


def _tree(pid: int) -> list[int]:
    """`pid` and its live descendants (children of every thread)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text()
                todo.extend(int(c) for c in children.split())
        except OSError:
            continue
    return found


def _hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def session_cpu_seconds(leader: int | None) -> float:
    """User+sys CPU-seconds so far of the live processes in `leader`'s session (the
    servers the bench starts lead their own), waited-for children included. A
    server's CPU is not in any contender's `wait4`: the restore load's scratch server
    and the source database do their share of a backup's work there."""
    if leader is None:
        return 0.0
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces) in ")": state is
        # field 3, session 6, utime..cstime 14..17 (proc(5)).
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == leader:
            ticks += sum(int(f) for f in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def best(runs: list[Measured]) -> Measured:
    """The fastest run's wall and the least CPU and RSS seen (noise only adds)."""
    return Measured(min(m.wall for m in runs), min(m.cpu for m in runs),
                    min(m.peak_rss_kib for m in runs))
