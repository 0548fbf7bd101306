"""A scratch server as the backup Job's sidecar runs it, for tests of the worker
alone: the Job's own server arguments, with the container paths mapped to local
directories the way the process kubelet maps them, run by the same entrypoint
the kubelet gives the `mysql:`/`mariadb:` images (tests/localcluster/scratch_image.py).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from tenant_exit.api.restore import SCRATCH_DATADIR, SCRATCH_SOCKET_DIR
from tenant_exit.kube.jobs import SCRATCH_SERVER_OPTIONS
from tests.localcluster.dbserver import Family
from tests.localcluster.podenv import DEFAULT_IMAGES, PathMap


class Scratch(NamedTuple):
    socket: Path
    """Its unix socket (a short path: sun_path holds 108 bytes)."""
    pid: int
    """The server's process, which leads its own session (the bench counts its CPU)."""


@contextlib.contextmanager
def scratch_server(family: Family, workdir: Path) -> Iterator[Path]:
    """Start a scratch server of `family`; yields its unix socket, stops it and
    removes its files afterwards."""
    with scratch_process(family, workdir) as scratch:
        yield scratch.socket


@contextlib.contextmanager
def scratch_process(family: Family, workdir: Path) -> Iterator[Scratch]:
    """`scratch_server`, yielding the server's pid too."""
    image = DEFAULT_IMAGES[f"{family}:"]
    run = Path(tempfile.mkdtemp(prefix="te-scr-"))
    datadir, tmp = workdir / "scratch-data", workdir / "scratch-tmp"
    datadir.mkdir(parents=True)
    tmp.mkdir()
    paths = PathMap({SCRATCH_DATADIR: str(datadir), SCRATCH_SOCKET_DIR: str(run),
                     "/tmp": str(tmp)})
    argv = [*image.entrypoint, *image.cmd, *paths.rewrite_all(SCRATCH_SERVER_OPTIONS)]
    log = (workdir / "scratch.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield Scratch(run / "mysqld.sock", proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
        shutil.rmtree(run, ignore_errors=True)
