"""`make cluster-up` / `make cluster-down`: the whole local stack in the background.

`up` starts a detached `serve` process and waits until it reports ready;
`serve` starts the control plane, the process kubelet (with its PV deleter),
MariaDB, Oracle MySQL and the S3 server, writes `.localcluster/kubeconfig` and
`.localcluster/env` (MariaDB as MYSQL_*, MySQL as TENANT_EXIT_MYSQL_*), then
holds everything until SIGTERM. `down` sends that
SIGTERM and waits: every server is stopped by PID.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily below: `down` needs none of them
    from tests.localcluster.controlplane import ControlPlane
    from tests.localcluster.dbserver import DatabaseServer
    from tests.localcluster.kubelet import ProcessKubelet
    from tests.localcluster.mariadb import MariaDBServer
    from tests.localcluster.mysqlserver import MySQLServer
    from tests.localcluster.s3server import S3Server
    from tests.localcluster.volumes import LocalVolumes

REPO = Path(__file__).resolve().parents[2]
STATE = REPO / ".localcluster"


@dataclass
class Stack:
    control_plane: ControlPlane
    kubelet: ProcessKubelet
    volumes: LocalVolumes
    mariadb: MariaDBServer
    mysql: MySQLServer
    s3: S3Server

    def database(self, family: str) -> DatabaseServer:
        """The stack's server of `family` ("mariadb" or "mysql")."""
        return self.mysql if family == "mysql" else self.mariadb

    def env(self) -> dict[str, str]:
        cp, db, my, s3 = self.control_plane, self.mariadb, self.mysql, self.s3
        return {
            "KUBECONFIG": str(cp.kubeconfig),
            "MYSQL_HOST": db.host,
            "MYSQL_PORT": str(db.port),
            "MYSQL_UNIX_SOCKET": str(db.socket),
            "MYSQL_ROOT_USER": db.root_user,
            "MYSQL_ROOT_PASSWORD": db.root_password,
            "TENANT_EXIT_MYSQL_HOST": my.host,
            "TENANT_EXIT_MYSQL_PORT": str(my.port),
            "TENANT_EXIT_MYSQL_UNIX_SOCKET": str(my.socket),
            "TENANT_EXIT_MYSQL_ROOT_USER": my.root_user,
            "TENANT_EXIT_MYSQL_ROOT_PASSWORD": my.root_password,
            "S3_ENDPOINT_URL": s3.endpoint_url,
            "AWS_ACCESS_KEY_ID": s3.access_key,
            "AWS_SECRET_ACCESS_KEY": s3.secret_key,
            "AWS_DEFAULT_REGION": s3.region,
        }


@contextlib.contextmanager
def running_stack(workdir: Path) -> Iterator[Stack]:
    """Starts every piece under `workdir` and stops all of them on exit."""
    from tests.localcluster.controlplane import ControlPlane
    from tests.localcluster.kubelet import ProcessKubelet
    from tests.localcluster.mariadb import MariaDBServer
    from tests.localcluster.mysqlserver import MySQLServer
    from tests.localcluster.s3server import S3Server
    from tests.localcluster.volumes import LocalVolumes

    with contextlib.ExitStack() as stack:
        plane = ControlPlane(workdir=workdir / "kube")
        plane.start()
        stack.callback(plane.stop)
        api = plane.api_client()
        kubelet = ProcessKubelet(api, workdir=workdir / "kubelet")
        kubelet.start()
        stack.callback(kubelet.stop)
        volumes = LocalVolumes(api, workdir / "volumes")
        stack.callback(getattr(volumes, "stop", lambda: None))
        mariadb = MariaDBServer(workdir=workdir / "mariadb")
        mariadb.start()
        stack.callback(mariadb.stop)
        mysql = MySQLServer(workdir=workdir / "mysql")
        mysql.start()
        stack.callback(mysql.stop)
        s3 = S3Server()
        s3.start()
        stack.callback(s3.stop)
        yield Stack(plane, kubelet, volumes, mariadb, mysql, s3)


def _serve() -> int:
    STATE.mkdir(exist_ok=True)
    workdir = STATE / "run"
    shutil.rmtree(workdir, ignore_errors=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with running_stack(workdir) as stack:
        shutil.copy(stack.control_plane.kubeconfig, STATE / "kubeconfig")
        env = stack.env() | {"KUBECONFIG": str(STATE / "kubeconfig")}
        (STATE / "env").write_text(
            "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
        )
        (STATE / "ready").touch()
        stop.wait()
    (STATE / "ready").unlink(missing_ok=True)
    return 0


def _up(timeout: float) -> int:
    STATE.mkdir(exist_ok=True)
    if (STATE / "pid").exists() and _alive(int((STATE / "pid").read_text())):
        print("local stack already running; `make cluster-down` stops it")
        return 0
    (STATE / "ready").unlink(missing_ok=True)
    log = (STATE / "stack.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.localcluster.stack", "serve"],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    (STATE / "pid").write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while not (STATE / "ready").exists():
        if proc.poll() is not None:
            print((STATE / "stack.log").read_text()[-4000:], file=sys.stderr)
            print("local stack failed to start (log above)", file=sys.stderr)
            return 1
        if time.monotonic() > deadline:
            proc.terminate()
            print(f"local stack not ready after {timeout:.0f}s", file=sys.stderr)
            return 1
        time.sleep(0.5)
    print(f"local stack up. Use it with:  source {STATE.relative_to(REPO)}/env")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _down(timeout: float) -> int:
    pid_file = STATE / "pid"
    if not pid_file.exists():
        print("local stack not running")
        return 0
    pid = int(pid_file.read_text())
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
    pid_file.unlink()
    for name in ("env", "kubeconfig", "ready"):
        (STATE / name).unlink(missing_ok=True)
    print("local stack stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "serve"])
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve()
    if args.command == "up":
        return _up(args.timeout)
    return _down(args.timeout)


if __name__ == "__main__":
    raise SystemExit(main())
