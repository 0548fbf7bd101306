"""`tenant-exit operator` as a real subprocess against the local control plane.

The operator runs under its own ServiceAccount identity (a token kubeconfig),
exactly the identity the namespace guard policy lets through, so a test's
`kubectl` (the admin) is refused like a platform engineer would be.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.localcluster.controlplane import ControlPlane, free_port
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
OPERATOR_NAMESPACE = "tenant-exit-system"
OPERATOR_ACCOUNT = "tenant-exit-operator"
CRD_FILE = ROOT / "crds" / "tenantexit.io_tenantexits.yaml"
CLASS_CRD_FILE = ROOT / "crds" / "tenantexit.io_tenantexitclasses.yaml"
GUARD_POLICY_FILE = ROOT / "crds" / "namespace-guard-policy.yaml"
CLASS_POLICY_FILE = ROOT / "crds" / "class-limits-policy.yaml"


def install_crds(plane: ControlPlane) -> None:
    """Apply the generated CRDs (TenantExit, TenantExitClass) and admission policies
    and wait until the CRDs are served."""
    for crd in (CRD_FILE, CLASS_CRD_FILE):
        plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crd))
    plane.kubectl("wait", "--for=condition=Established", "crd/tenantexits.tenantexit.io",
                  "crd/tenantexitclasses.tenantexit.io", "--timeout=60s")
    for policy in (GUARD_POLICY_FILE, CLASS_POLICY_FILE):
        plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(policy))


def _identity_manifest() -> str:
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPERATOR_NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": OPERATOR_ACCOUNT, "namespace": OPERATOR_NAMESPACE},
        },
        {
            # The test cluster grants cluster-admin; the chart ships the narrow ClusterRole.
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "tenant-exit-operator-test"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [
                {
                    "kind": "ServiceAccount",
                    "name": OPERATOR_ACCOUNT,
                    "namespace": OPERATOR_NAMESPACE,
                }
            ],
        },
    ]
    return yaml.safe_dump_all(docs)


def operator_kubeconfig(plane: ControlPlane, path: Path) -> Path:
    """A kubeconfig that authenticates as the operator's ServiceAccount."""
    plane.kubectl("apply", "-f", "-", input=_identity_manifest())
    token = plane.kubectl(
        "create", "token", OPERATOR_ACCOUNT, "-n", OPERATOR_NAMESPACE, "--duration=24h"
    ).stdout.strip()
    admin = yaml.safe_load(plane.kubeconfig.read_text())
    cluster = admin["clusters"][0]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": OPERATOR_ACCOUNT, "user": {"token": token}}],
        "contexts": [
            {"name": "operator", "context": {"cluster": cluster["name"], "user": OPERATOR_ACCOUNT}}
        ],
        "current-context": "operator",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


class OperatorProcess:
    """Start, stop, kill and restart `tenant-exit operator`; its logs go to a file."""

    def __init__(self, kubeconfig: Path, workdir: Path, env: dict[str, str] | None = None,
                 *, forked: bool = False):
        """`forked=True`: each start forks a pre-imported interpreter (operator_zygote.py)
        instead of a fresh `python -m tenant_exit.cli operator`: the same operator
        process, without the ~3 CPU-seconds of imports (for tests that restart it
        dozens of times)."""
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.log_path = workdir / "operator.log"
        self.extra_env = env or {}
        self.port = free_port()
        self.popen: subprocess.Popen[bytes] | ForkedProcess | None = None
        self.starts = 0
        self.log_offset = 0
        self.zygote = Zygote() if forked else None

    def start(self, timeout: float = 60.0) -> OperatorProcess:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "TENANT_EXIT_OPERATOR_NAMESPACE": OPERATOR_NAMESPACE,
            "TENANT_EXIT_LIVENESS_PORT": str(self.port),
            "TENANT_EXIT_RESYNC_SECONDS": "2",
            "TENANT_EXIT_RETRY_BASE_SECONDS": "1",
            "TENANT_EXIT_RETRY_MAX_SECONDS": "5",
            **self.extra_env,
        }
        env.pop("KUBERNETES_SERVICE_HOST", None)
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n=== start {self.starts} ===\n".encode())
        log.flush()
        self.log_offset = log.tell()  # where this start's own log begins
        if self.zygote is not None:
            log.close()
            self.popen = self.zygote.fork(env, self.log_path)
        else:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "tenant_exit.cli", "operator"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
        wait_for("the operator's liveness endpoint", self.healthy, timeout=timeout)
        return self

    def healthy(self) -> bool:
        import urllib.request

        if self.popen is None or self.popen.poll() is not None:
            raise RuntimeError(f"operator exited; log:\n{self.logs()[-4000:]}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/healthz", timeout=2
            ) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def healthy_or_none(self) -> bool:
        """Healthy, or False if the process is not running (instead of raising)."""
        if self.popen is None or self.popen.poll() is not None:
            return False
        return self.healthy()

    def stop(self, grace: float = 20.0) -> None:
        self._signal(signal.SIGTERM, grace)
        if self.zygote is not None:
            self.zygote.close()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no finalizer removal: a crash."""
        self._signal(signal.SIGKILL, 10.0)

    def restart(self) -> OperatorProcess:
        self.kill()
        return self.start()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _signal(self, sig: int, grace: float) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)



class ForkedProcess:
    """An operator forked by the zygote: the part of Popen's interface used here.
    The zygote ignores SIGCHLD, so the kernel reaps the child and its PID is gone
    as soon as it has died."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return -signal.SIGKILL  # the exit status went to the kernel's reaper
        return None

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while (code := self.poll()) is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"operator pid {self.pid}", timeout or 0)
            time.sleep(0.05)
        return code


class Zygote:
    """`python -m tests.support.operator_zygote` with the operator's environment,
    started on first use (again whenever that environment changes)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.env: dict[str, str] | None = None

    def fork(self, env: dict[str, str], log: Path) -> ForkedProcess:
        # pytest rewrites this one between a test's phases; the operator ignores it.
        env = {k: v for k, v in env.items() if k != "PYTEST_CURRENT_TEST"}
        if self.proc is None or self.proc.poll() is not None or env != self.env:
            self.close()
            self.env = env
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.support.operator_zygote"], cwd=ROOT, env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert self.proc.stdout is not None
            if not self.proc.stdout.readline():
                raise RuntimeError("the operator zygote did not start")
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"log": str(log)}) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError("the operator zygote died")
        return ForkedProcess(int(json.loads(answer)["pid"]))

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # it ends when its requests end
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


def delayed_single_attempt_env(worker_delay: int) -> dict[str, str]:
    """Operator settings for tests that act on an attempt before its worker runs: the
    worker starts `worker_delay` seconds after its pod, each exit gets one attempt of
    one pod, and the resync timer runs every 2 s."""
    return {
        "TENANT_EXIT_WORKER_COMMAND": json.dumps(
            ["sh", "-c", f"sleep {worker_delay}; exec tenant-exit worker backup"]),
        "TENANT_EXIT_RESYNC_SECONDS": "2",
        "TENANT_EXIT_JOB_BACKOFF_LIMIT": "0",
        "TENANT_EXIT_MAX_BACKUP_ATTEMPTS": "1",
    }


@contextlib.contextmanager
def running_operator(
    plane: ControlPlane, workdir: Path, env: dict[str, str] | None = None,
    *, forked: bool = False,
) -> Iterator[OperatorProcess]:
    install_crds(plane)
    kubeconfig = operator_kubeconfig(plane, workdir / "operator.kubeconfig")
    process = OperatorProcess(kubeconfig, workdir, env, forked=forked).start()
    try:
        yield process
    finally:
        process.stop()
        time.sleep(0)  # keep the log file complete before the test reads it
