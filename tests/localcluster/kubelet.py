"""The process kubelet: a Ready Node whose pods run as local processes.

Test support, not product code. It registers a Node, keeps it alive with a
Lease in kube-node-lease (so the node-lifecycle controller never taints it),
watches the pods the real kube-scheduler binds to it, and runs each container
as a subprocess in its own process group: init containers first, in order,
then the containers side by side, restarted per the pod's restartPolicy.

It reports status through the pods/status subresource the way a kubelet does
(container states with exit codes and termination messages, phase,
conditions), so the real Job controller completes or fails Jobs and
podFailurePolicy rules see real exit codes. On deletion it sends SIGTERM,
waits the grace period (capped, for tests), sends SIGKILL, writes the terminal
phase and then deletes the pod with grace 0 - finalizers stay untouched, so
the Job controller removes its own `batch.kubernetes.io/job-tracking`.

Not emulated: images (an image maps to a local entrypoint, see
``image_commands``), securityContext (users, read-only root fs,
capabilities), resource limits, probes, restarts of sidecar init containers
(they start before the containers and stop after them, once), networking
(every pod is 127.0.0.1), and read-only mounts (see podvolumes.py).
"""

from __future__ import annotations

import contextlib
import logging
import platform
import tempfile
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from tests.localcluster.podenv import DEFAULT_IMAGES, LocalImage
from tests.localcluster.podstatus import TERMINAL_PHASES, now, timestamp
from tests.localcluster.podworker import LOOPBACK, PodWorker, delete_now, ignore_status
from tests.localcluster.tools import tool_path

NODE_NAME = "local-node-0"
LEASE_NAMESPACE = "kube-node-lease"
LEASE_SECONDS = 40
HEARTBEAT_SECONDS = 10.0
WATCH_SECONDS = 10
# The node lifecycle controller taints nodes it believes unhealthy; the
# TaintNodesByCondition admission plugin puts not-ready on every new Node.
UNHEALTHY_TAINTS = frozenset({"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"})
# Generous: the scheduler only compares requests against allocatable.
DEFAULT_CAPACITY: Mapping[str, str] = {
    "cpu": "32", "memory": "128Gi", "pods": "250", "ephemeral-storage": "500Gi",
}

log = logging.getLogger(__name__)

ImageCommands = Mapping[str, LocalImage | Sequence[str] | None]


def _images(overrides: ImageCommands | None) -> dict[str, LocalImage]:
    """`image_commands` values: a LocalImage, a list (the ENTRYPOINT), or None
    (no entrypoint: the container's own `command` runs as is)."""
    images = dict(DEFAULT_IMAGES)
    for prefix, value in (overrides or {}).items():
        if value is None:
            images[prefix] = LocalImage()
        elif isinstance(value, LocalImage):
            images[prefix] = value
        else:
            images[prefix] = LocalImage(tuple(value))
    return images


class ProcessKubelet:
    """`start()` registers the node and runs pods in background threads; `stop()`
    kills every container process (it does not report them: a restarted
    kubelet fails pods it cannot adopt)."""

    def __init__(
        self,
        api_client: client.ApiClient,
        node_name: str = NODE_NAME,
        workdir: Path | str | None = None,
        image_commands: ImageCommands | None = None,
        *,
        max_grace_seconds: float = 5.0,
        restart_backoff_seconds: float = 1.0,
        capacity: Mapping[str, str] | None = None,
    ) -> None:
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.node_name = node_name
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="tenant-exit-kubelet-"))
        self.images = _images(image_commands)
        self.max_grace_seconds = max_grace_seconds
        self.restart_backoff_seconds = restart_backoff_seconds
        self.capacity = dict(DEFAULT_CAPACITY) | dict(capacity or {})
        # The project's virtualenv first, so the operator image's `tenant-exit`
        # entry point resolves to this checkout (the interpreter is not resolved
        # through symlinks, which would leave the venv); then MySQL's own client
        # tools before the system's MariaDB ones (tools.py says why).
        self.path = tool_path()
        api = urllib.parse.urlsplit(api_client.configuration.host)
        self.service_env = {
            "KUBERNETES_SERVICE_HOST": api.hostname or LOOPBACK,
            "KUBERNETES_SERVICE_PORT": str(api.port or 443),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(api.port or 443),
        }
        self._lock = threading.Lock()
        self._workers: dict[str, PodWorker] = {}
        self._finished: dict[str, PodWorker] = {}
        self._pod_dirs: dict[tuple[str, str], Path] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._log_handler: logging.Handler | None = None
        self._node_uid = ""
        self._since = timestamp(now())

    # -- lifecycle -------------------------------------------------------
    def start(self) -> ProcessKubelet:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log_handler = logging.FileHandler(self.workdir / "kubelet.log")
        self._log_handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(message)s")
        )
        log.addHandler(self._log_handler)
        log.setLevel(logging.INFO)
        self._register_node()
        self._renew_lease()
        resource_version = self._relist()
        for target, name, args in (
            (self._heartbeat_loop, "kubelet-heartbeat", ()),
            (self._watch_loop, "kubelet-watch", (resource_version,)),
        ):
            thread = threading.Thread(target=target, name=name, args=args, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("process kubelet %s started in %s", self.node_name, self.workdir)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.wake.set()
        for worker in workers:
            worker.thread.join(timeout=self.max_grace_seconds + 5)
        for thread in self._threads:
            thread.join(timeout=1)
        self._threads.clear()
        if self._log_handler is not None:
            log.removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None

    def __enter__(self) -> ProcessKubelet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- what tests read -------------------------------------------------
    def container_log(
        self, namespace: str, pod: str, container: str, previous: bool = False
    ) -> str:
        """The output (stdout and stderr) of the container's current run, or of
        the run before it with `previous=True`; "" when it never ran."""
        with self._lock:
            pod_dir = self._pod_dirs.get((namespace, pod))
        if pod_dir is None:
            return ""
        runs = sorted(
            (pod_dir / "logs").glob(f"{container}-*.log"),
            key=lambda p: int(p.stem.rsplit("-", 1)[1]),
        )
        index = -2 if previous else -1
        if len(runs) < abs(index):
            return ""
        return runs[index].read_text(errors="replace")

    def container_pid(self, namespace: str, pod: str, container: str) -> int | None:
        """PID (and process group) of the container's running main process, or None:
        what a fault test kills to crash a container the way an OOM kill does."""
        with self._lock:
            workers = [w for w in self._workers.values()
                       if (w.namespace, w.name) == (namespace, pod)]
        for worker in workers:
            proc = worker.procs.get(container)
            if proc is not None and proc.poll() is None:
                return proc.pid
        return None

    # -- the node --------------------------------------------------------
    def _node_status(self) -> dict[str, Any]:
        beat = timestamp(now())
        healthy = [
            ("Ready", "True", "KubeletReady", "process kubelet is posting ready status"),
            ("MemoryPressure", "False", "KubeletHasSufficientMemory", "no memory pressure"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "no PID pressure"),
        ]
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
        return {
            "conditions": [
                {"type": t, "status": s, "reason": r, "message": m,
                 "lastHeartbeatTime": beat, "lastTransitionTime": self._since}
                for t, s, r, m in healthy
            ],
            "capacity": dict(self.capacity),
            "allocatable": dict(self.capacity),
            "addresses": [
                {"type": "InternalIP", "address": LOOPBACK},
                {"type": "Hostname", "address": self.node_name},
            ],
            "nodeInfo": {
                "machineID": self.node_name, "systemUUID": self.node_name,
                "bootID": self._since or "", "kernelVersion": platform.release(),
                "osImage": "process kubelet (tenant-exit test harness)",
                "containerRuntimeVersion": "process://local",
                "kubeletVersion": self._server_version(), "kubeProxyVersion": "",
                "operatingSystem": "linux", "architecture": arch,
            },
        }

    def _server_version(self) -> str:
        try:
            return str(client.VersionApi(self.api_client).get_code().git_version)
        except ApiException:
            return "v0.0.0"

    def _register_node(self) -> None:
        labels = {
            "kubernetes.io/hostname": self.node_name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": self._node_status()["nodeInfo"]["architecture"],
        }
        body = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": self.node_name, "labels": labels},
            "status": self._node_status(),
        }
        created = ignore_status({409}, lambda: self.core.create_node(body))
        if created is None:
            self.core.patch_node(self.node_name, {"metadata": {"labels": labels}})
        node = self.core.patch_node_status(self.node_name, {"status": self._node_status()})
        self._node_uid = node.metadata.uid
        self._drop_unhealthy_taints(node)

    def _drop_unhealthy_taints(self, node: Any) -> None:
        taints = node.spec.taints or []
        keep = [t for t in taints if t.key not in UNHEALTHY_TAINTS]
        if len(keep) != len(taints):
            # Node taints have no merge key: the patch replaces the list, and
            # only the health taints are left out.
            body = self.api_client.sanitize_for_serialization(keep)
            self.core.patch_node(self.node_name, {"spec": {"taints": body}})
            log.info("removed health taints from node %s", self.node_name)

    def _renew_lease(self) -> None:
        coordination = client.CoordinationV1Api(self.api_client)
        renew = now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        spec = {"holderIdentity": self.node_name, "leaseDurationSeconds": LEASE_SECONDS,
                "renewTime": renew}
        body = {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {
                "name": self.node_name, "namespace": LEASE_NAMESPACE,
                "ownerReferences": [{"apiVersion": "v1", "kind": "Node",
                                     "name": self.node_name, "uid": self._node_uid}],
            },
            "spec": spec,
        }
        created = ignore_status(
            {409}, lambda: coordination.create_namespaced_lease(LEASE_NAMESPACE, body)
        )
        if created is not None:
            return
        coordination.patch_namespaced_lease(self.node_name, LEASE_NAMESPACE, {"spec": spec})

    def _heartbeat_loop(self) -> None:
        beats = 0
        while not self._stop.wait(HEARTBEAT_SECONDS):
            beats += 1
            try:
                self._renew_lease()
                if beats % 3 == 0:
                    node = self.core.patch_node_status(
                        self.node_name, {"status": self._node_status()}
                    )
                    self._drop_unhealthy_taints(node)
            except ApiException as err:
                if err.status == 404:  # someone deleted the Node: register again
                    with contextlib.suppress(Exception):
                        self._register_node()
                else:
                    log.warning("heartbeat failed: %s", err.reason)
            except Exception:  # keep beating through apiserver hiccups
                log.exception("heartbeat failed")

    # -- pods ------------------------------------------------------------
    def _relist(self) -> str:
        pods = self.core.list_pod_for_all_namespaces(
            field_selector=f"spec.nodeName={self.node_name}"
        )
        listed = set()
        for pod in pods.items:
            listed.add(pod.metadata.uid)
            self._on_pod("SYNC", pod)
        with self._lock:
            vanished = [w for uid, w in self._workers.items() if uid not in listed]
        for worker in vanished:
            worker.object_gone()
        return str(pods.metadata.resource_version)

    def _watch_loop(self, resource_version: str | None) -> None:
        while not self._stop.is_set():
            try:
                if resource_version is None:
                    resource_version = self._relist()
                stream = watch.Watch().stream(
                    self.core.list_pod_for_all_namespaces,
                    field_selector=f"spec.nodeName={self.node_name}",
                    resource_version=resource_version,
                    timeout_seconds=WATCH_SECONDS,
                    allow_watch_bookmarks=True,
                )
                for event in stream:
                    if self._stop.is_set():
                        break
                    pod = event["object"]
                    if event["type"] != "BOOKMARK":
                        self._on_pod(event["type"], pod)
                # Re-list after every watch window: cheap here, and it heals
                # anything a dropped connection lost.
                resource_version = None
            except ApiException as err:
                if err.status != 410:
                    log.warning("pod watch failed: %s %s", err.status, err.reason)
                    self._stop.wait(1)
                resource_version = None
            except Exception:
                log.exception("pod watch failed")
                self._stop.wait(1)
                resource_version = None

    def _on_pod(self, event: str, pod: Any) -> None:
        uid = pod.metadata.uid
        with self._lock:
            worker = self._workers.get(uid)
            finished = self._finished.get(uid)
        if event == "DELETED":
            if worker is not None:
                worker.object_gone()
            return
        if self._stop.is_set():
            return
        if worker is not None:
            worker.observe(pod)
            return
        current = pod.status.phase if pod.status else None
        if finished is not None:
            # Our final status may have been lost to an apiserver hiccup.
            if event == "SYNC" and current not in TERMINAL_PHASES:
                finished.report()
            return
        if current in TERMINAL_PHASES:
            return
        if pod.metadata.deletion_timestamp is not None:
            self._fail_foreign(pod, "the pod was deleted before the process kubelet ran it")
            ignore_status({404, 409}, lambda: delete_now(self.core, pod))
        elif _was_started(pod):
            self._fail_foreign(
                pod, "the process kubelet restarted and cannot adopt this pod's processes"
            )
        else:
            self._run(pod)

    def _run(self, pod: Any) -> None:
        worker = PodWorker(self, pod)
        with self._lock:
            self._workers[worker.uid] = worker
            self._pod_dirs[(worker.namespace, worker.name)] = worker.dir
        log.info("running pod %s/%s", worker.namespace, worker.name)
        worker.thread.start()

    def worker_done(self, worker: PodWorker) -> None:
        with self._lock:
            self._workers.pop(worker.uid, None)
            self._finished[worker.uid] = worker

    def _fail_foreign(self, pod: Any, message: str) -> None:
        """Fail a pod whose processes we do not have, as a kubelet does with
        containers it cannot find (ContainerStatusUnknown, exit code 137)."""
        lost = {
            "terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown",
                           "message": "The container could not be located when the pod was"
                                      " terminated"}
        }
        statuses = [
            {"name": c.name, "image": c.image, "imageID": "", "ready": False, "started": False,
             "restartCount": 0, "state": lost, "lastState": {}}
            for c in pod.spec.containers
        ]
        status = {
            "phase": "Failed", "reason": "ProcessKubeletLost", "message": message,
            "containerStatuses": statuses,
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "PodFailed"},
                {"type": "ContainersReady", "status": "False", "reason": "PodFailed"},
            ],
        }
        ignore_status({404}, lambda: self.core.patch_namespaced_pod_status(
            pod.metadata.name, pod.metadata.namespace, {"status": status}))
        log.info("failed pod %s/%s: %s", pod.metadata.namespace, pod.metadata.name, message)


def _was_started(pod: Any) -> bool:
    status = pod.status
    if status is None:
        return False
    if status.phase == "Running":
        return True
    for container in (status.container_statuses or []) + (status.init_container_statuses or []):
        if container.state and (container.state.running or container.state.terminated):
            return True
    return False
