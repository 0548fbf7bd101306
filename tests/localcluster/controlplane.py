"""A real Kubernetes control plane on loopback: etcd, kube-apiserver,
kube-controller-manager and kube-scheduler of the pinned release.

Everything lives in one work directory (certificates, etcd data, logs,
kubeconfigs) on random free ports. Processes run in their own sessions and are
torn down by PID, process group first, so a failed test never leaves servers
behind. Pods are run by the process kubelet (kubelet.py), not here.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.localcluster import binaries
from tests.localcluster.certs import CertPair, LocalPKI
from tests.localcluster.serverproc import _die_with_parent, free_port

SERVICE_CIDR = "10.0.0.0/24"
# Controllers the exit relies on; `*` keeps the release's defaults and the
# named ones are listed so a future default change cannot silently drop them.
CONTROLLERS = ",".join(
    [
        "*",
        "namespace-controller",
        "garbage-collector-controller",
        "job-controller",
        "pod-garbage-collector-controller",
        "ttl-after-finished-controller",
        "serviceaccount-controller",
        "serviceaccount-token-controller",
        "clusterrole-aggregation-controller",
        "root-ca-certificate-publisher-controller",
        "persistentvolume-binder-controller",
        "persistentvolume-protection-controller",
        "persistentvolumeclaim-protection-controller",
    ]
)


def write_kubeconfig(path: Path, server: str, ca: Path, client: CertPair, user: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "local", "cluster": {"server": server, "certificate-authority": str(ca)}}
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate": str(client.cert),
                    "client-key": str(client.key),
                },
            }
        ],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": user}}],
        "current-context": "local",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


class KubectlFailed(subprocess.CalledProcessError):
    """A failed kubectl call whose message carries the server's answer: a bare exit
    status in a CI summary says nothing about which admission rule refused what."""

    def __str__(self) -> str:
        return f"{super().__str__()}\nstderr: {(self.stderr or '').strip()[-2000:]}"


@dataclass
class ControlPlane:
    """Start with `start()` (or use as a context manager); always `stop()`."""

    workdir: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="tenant-exit-kube-"))
    )
    bin_dir: Path = field(default_factory=binaries.bin_dir)
    _procs: list[_Proc] = field(default_factory=list)
    server: str = ""
    kubeconfig: Path = Path()

    # -- lifecycle -------------------------------------------------------
    def start(self, timeout: float = 120.0) -> ControlPlane:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        pki = LocalPKI(self.workdir / "pki")
        self.ca = pki.ca
        serving = pki.issue_serving(
            "apiserver",
            dns=["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
            ips=["127.0.0.1", "10.0.0.1"],
        )
        admin = pki.issue_client("admin", "kubernetes-admin", "system:masters")
        kcm = pki.issue_client("controller-manager", "system:kube-controller-manager")
        sched = pki.issue_client("scheduler", "system:kube-scheduler")
        sa = pki.issue_service_account_keys()

        etcd_client, etcd_peer = free_port(), free_port()
        api_port = free_port()
        self.server = f"https://127.0.0.1:{api_port}"
        self.kubeconfig = write_kubeconfig(
            self.workdir / "admin.kubeconfig", self.server, self.ca.cert, admin, "admin"
        )
        kcm_config = write_kubeconfig(
            self.workdir / "controller-manager.kubeconfig", self.server, self.ca.cert, kcm, "kcm"
        )
        sched_config = write_kubeconfig(
            self.workdir / "scheduler.kubeconfig", self.server, self.ca.cert, sched, "scheduler"
        )
        self._admin = admin

        try:
            self._spawn(
                "etcd",
                [
                    binaries.binary("etcd"),
                    "--name=local",
                    f"--data-dir={self.workdir / 'etcd'}",
                    f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
                    f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
                    f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                    f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                    f"--initial-cluster=local=http://127.0.0.1:{etcd_peer}",
                    # A test cluster's data is disposable; fsync dominates its latency.
                    "--unsafe-no-fsync=true",
                    "--log-level=warn",
                ],
            )
            self._spawn(
                "kube-apiserver",
                [
                    binaries.binary("kube-apiserver"),
                    f"--etcd-servers=http://127.0.0.1:{etcd_client}",
                    "--bind-address=127.0.0.1",
                    f"--secure-port={api_port}",
                    "--advertise-address=127.0.0.1",
                    # Endpoint validation rejects loopback IPs for the `kubernetes`
                    # Service; nothing here reaches the apiserver through it.
                    "--endpoint-reconciler-type=none",
                    f"--tls-cert-file={serving.cert}",
                    f"--tls-private-key-file={serving.key}",
                    f"--client-ca-file={self.ca.cert}",
                    f"--service-account-key-file={sa.cert}",
                    f"--service-account-signing-key-file={sa.key}",
                    "--service-account-issuer=https://kubernetes.default.svc",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    "--authorization-mode=RBAC",
                    "--allow-privileged=true",
                    f"--cert-dir={self.workdir / 'apiserver-certs'}",
                    "--v=1",
                ],
            )
            self._wait_ready(timeout)
            common = ["--leader-elect=false", "--bind-address=127.0.0.1", "--v=1"]
            self._spawn(
                "kube-controller-manager",
                [
                    binaries.binary("kube-controller-manager"),
                    f"--kubeconfig={kcm_config}",
                    f"--authentication-kubeconfig={kcm_config}",
                    f"--authorization-kubeconfig={kcm_config}",
                    f"--secure-port={free_port()}",
                    f"--controllers={CONTROLLERS}",
                    f"--service-account-private-key-file={sa.key}",
                    f"--root-ca-file={self.ca.cert}",
                    "--use-service-account-credentials=true",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    # Namespaces and Jobs should settle in seconds in tests.
                    "--concurrent-namespace-syncs=5",
                    *common,
                ],
            )
            self._spawn(
                "kube-scheduler",
                [
                    binaries.binary("kube-scheduler"),
                    f"--kubeconfig={sched_config}",
                    f"--authentication-kubeconfig={sched_config}",
                    f"--authorization-kubeconfig={sched_config}",
                    f"--secure-port={free_port()}",
                    *common,
                ],
            )
            self._wait_for_default_service_account(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate every process group, controllers before apiserver before etcd."""
        for proc in reversed(self._procs):
            _terminate(proc.popen)
        self._procs.clear()

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pids(self) -> dict[str, int]:
        return {p.name: p.popen.pid for p in self._procs}

    # -- clients ---------------------------------------------------------
    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [binaries.binary("kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise KubectlFailed(result.returncode, result.args, result.stdout, result.stderr)
        return result

    def api_client(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def log(self, name: str) -> str:
        return (self.workdir / "logs" / f"{name}.log").read_text(errors="replace")

    # -- internals -------------------------------------------------------
    def _spawn(self, name: str, argv: list[str]) -> None:
        log = self.workdir / "logs" / f"{name}.log"
        with log.open("ab") as out:
            # Own session (stopped by process group), but dies with us even when
            # pytest itself is killed hard: no control plane outlives its test run.
            popen = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                cwd=self.workdir, preexec_fn=_die_with_parent,
            )
        self._procs.append(_Proc(name, popen, log))

    def _check_alive(self) -> None:
        for proc in self._procs:
            if proc.popen.poll() is not None:
                tail = proc.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{tail}")

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca.cert))
        ctx.load_cert_chain(str(self._admin.cert), str(self._admin.key))
        return ctx

    def _get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(  # noqa: S310 - our own loopback apiserver
                self.server + path, context=self._ssl_context(), timeout=5
            ) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            self._check_alive()
            with contextlib.suppress(OSError):
                status, body = self._get("/readyz")
                if status == 200:
                    return
                last = body.decode(errors="replace")[-500:]
            time.sleep(0.3)
        raise TimeoutError(f"kube-apiserver not ready after {timeout}s: {last}")

    def _wait_for_default_service_account(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            status, _ = self._get("/api/v1/namespaces/default/serviceaccounts/default")
            if status == 200:
                return
            time.sleep(0.3)
        raise TimeoutError(f"no default ServiceAccount after {timeout}s")

    def version(self) -> dict[str, Any]:
        status, body = self._get("/version")
        assert status == 200, body
        return dict(json.loads(body))


def _terminate(popen: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if popen.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGTERM)
    try:
        popen.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait(5)
