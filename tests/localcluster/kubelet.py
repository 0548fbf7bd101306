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
capabilities), resource limits, probes, sidecar init containers, networking
(every pod is 127.0.0.1), and read-only mounts (see podvolumes.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from tests.localcluster.podenv import (
    DEFAULT_IMAGES,
    ConfigError,
    LocalImage,
    PathMap,
    command_line,
    container_env,
    expand,
    termination_message,
)
from tests.localcluster.podstatus import (
    TERMINAL_PHASES,
    Conditions,
    ContainerRun,
    now,
    phase,
    restarts,
    timestamp,
)
from tests.localcluster.podvolumes import NamespaceObjects, UnsupportedVolume, prepare_volumes

NODE_NAME = "local-node-0"
LEASE_NAMESPACE = "kube-node-lease"
LEASE_SECONDS = 40
HEARTBEAT_SECONDS = 10.0
WATCH_SECONDS = 10
LOOPBACK = "127.0.0.1"
DEFAULT_TERMINATION_PATH = "/dev/termination-log"
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


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _ignore(statuses: set[int], call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ApiException as err:
        if err.status in statuses:
            return None
        raise


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
        # entry point resolves to this checkout; the interpreter is not resolved
        # through symlinks, which would leave the venv.
        self.path = os.pathsep.join(
            [str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)]
        )
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
        created = _ignore({409}, lambda: self.core.create_node(body))
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
        if _ignore({409}, lambda: coordination.create_namespaced_lease(LEASE_NAMESPACE, body)):
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
        if worker is not None:
            worker.observe(pod)
            return
        current = pod.status.phase if pod.status else None
        if finished is not None:
            # Our final status may have been lost to an apiserver hiccup.
            if event == "SYNC" and current not in TERMINAL_PHASES:
                finished.report()
            return
        if self._stop.is_set() or current in TERMINAL_PHASES:
            return
        if pod.metadata.deletion_timestamp is not None:
            self._fail_foreign(pod, "the pod was deleted before the process kubelet ran it")
            _ignore({404, 409}, lambda: self._delete_now(pod))
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
        _ignore({404}, lambda: self.core.patch_namespaced_pod_status(
            pod.metadata.name, pod.metadata.namespace, {"status": status}))
        log.info("failed pod %s/%s: %s", pod.metadata.namespace, pod.metadata.name, message)

    def _delete_now(self, pod: Any) -> None:
        """The kubelet's last word on a deleted pod: grace 0, guarded by UID so a
        new pod of the same name is never hit. Finalizers are not touched."""
        self.core.delete_namespaced_pod(
            pod.metadata.name, pod.metadata.namespace,
            body=client.V1DeleteOptions(
                grace_period_seconds=0,
                preconditions=client.V1Preconditions(uid=pod.metadata.uid),
            ),
        )


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


class PodWorker:
    """Runs one pod from its first status report to its terminal phase."""

    def __init__(self, kubelet: ProcessKubelet, pod: Any) -> None:
        self.kubelet = kubelet
        self.core = kubelet.core
        self.pod = pod
        self.uid: str = pod.metadata.uid
        self.namespace: str = pod.metadata.namespace
        self.name: str = pod.metadata.name
        self.dir = kubelet.workdir / "pods" / f"{self.namespace}_{self.name}_{self.uid[:8]}"
        self.wake = threading.Event()
        self.gone = False
        spec = pod.spec
        self.policy: str = spec.restart_policy or "Always"
        self.init_specs = list(spec.init_containers or [])
        self.specs = list(spec.containers)
        self.init_runs = [ContainerRun(c.name, c.image or "") for c in self.init_specs]
        self.runs = [ContainerRun(c.name, c.image or "") for c in self.specs]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.volumes: dict[str, Path] = {}
        self.phase = "Pending"
        self.reason: str | None = None
        self.message: str | None = None
        self.volumes_ready = False
        self.initialized = not self.init_specs
        self.conditions = Conditions()
        self.start_time = now()
        self.started = time.monotonic()
        self.thread = threading.Thread(
            target=self._main, name=f"pod-{self.namespace}/{self.name}", daemon=True
        )

    # -- signals from the watch -----------------------------------------
    def observe(self, pod: Any) -> None:
        self.pod = pod
        if pod.metadata.deletion_timestamp is not None:
            self.wake.set()

    def object_gone(self) -> None:
        self.gone = True
        self.wake.set()

    # -- the pod's life --------------------------------------------------
    def _main(self) -> None:
        try:
            self._live()
        except Exception:
            log.exception("pod %s/%s failed in the kubelet", self.namespace, self.name)
            self._kill_all(0)
            if not self.kubelet.stopping and not self.gone:
                self.phase, self.reason = "Failed", "ProcessKubeletError"
                self.message = "the process kubelet failed running this pod; see kubelet.log"
                with contextlib.suppress(Exception):
                    self.report()
        finally:
            self.kubelet.worker_done(self)

    def _live(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.report()
        if not self._prepare_volumes():
            return self._wind_down()
        for spec, run in zip(self.init_specs, self.init_runs, strict=True):
            outcome = self._run_init(spec, run)
            if outcome is None:
                return self._wind_down()
            if not outcome:
                self.phase = "Failed"
                self.report()
                return None
        self.initialized = True
        for spec, run in zip(self.specs, self.runs, strict=True):
            self._launch(spec, run)
        self.phase = phase(self.policy, True, self.runs)
        self.report()
        return self._supervise()

    def _interrupted(self) -> bool:
        return (
            self.kubelet.stopping
            or self.gone
            or self.pod.metadata.deletion_timestamp is not None
            or self._past_deadline()
        )

    def _past_deadline(self) -> bool:
        deadline = self.pod.spec.active_deadline_seconds
        return deadline is not None and time.monotonic() - self.started > deadline

    def _sleep(self, seconds: float) -> None:
        self.wake.wait(seconds)
        self.wake.clear()

    def _prepare_volumes(self) -> bool:
        """Mount (materialise) the volumes, retrying what may still appear."""
        while not self._interrupted():
            try:
                self.volumes = prepare_volumes(
                    self.core, self.pod, self.dir, NamespaceObjects(self.core, self.namespace),
                    self.kubelet.capacity,
                )
            except ConfigError as err:
                self._all_waiting("ContainerCreating", f"MountVolume failed: {err}")
                self._sleep(1)
                continue
            except UnsupportedVolume as err:
                # A real kubelet would keep the pod in ContainerCreating forever.
                self._all_waiting("ContainerCreating", str(err))
                while not self._interrupted():
                    self._sleep(1)
                return False
            self.volumes_ready = True
            for run in self.init_runs[1:] + self.runs:
                run.wait("PodInitializing")
            self.report()
            return True
        return False

    def _all_waiting(self, reason: str, message: str) -> None:
        for run in self.init_runs + self.runs:
            run.wait(reason, message)
        self.report()

    def _run_init(self, spec: Any, run: ContainerRun) -> bool | None:
        """True when the init container succeeded, False when the pod failed
        with it (restartPolicy Never), None when interrupted."""
        while not self._interrupted():
            if not self._start(spec, run):
                self.report()
                self._sleep(1)
                continue
            self.report()
            while run.state == "running" and not self._reap(spec, run):
                if self._interrupted():
                    return None
                self._sleep(0.2)
            self.report()
            if run.succeeded:
                return True
            if self.policy == "Never":
                return False
            self._sleep(self._backoff(run))
        return None

    def _supervise(self) -> None:
        while not self._interrupted():
            changed = False
            for spec, run in zip(self.specs, self.runs, strict=True):
                if self._reap(spec, run):
                    changed = True
                    self._schedule_restart(run)
                elif run.restart_at is not None and time.monotonic() >= run.restart_at:
                    run.restart_at = None
                    self._launch(spec, run)
                    changed = True
            if changed:
                self.phase = phase(self.policy, True, self.runs)
                self.report()
                if self.phase in TERMINAL_PHASES:
                    return
            self._sleep(0.2)
        self._wind_down()

    def _launch(self, spec: Any, run: ContainerRun) -> None:
        if not self._start(spec, run):
            run.restart_at = time.monotonic() + 1  # its Secret/ConfigMap may appear
        elif run.state == "terminated":  # StartError
            self._schedule_restart(run)

    def _schedule_restart(self, run: ContainerRun) -> None:
        if restarts(self.policy, run):
            run.restart_at = time.monotonic() + self._backoff(run)

    def _backoff(self, run: ContainerRun) -> float:
        # Like CrashLoopBackOff, doubling per restart, but from 1 s and capped
        # at 10 s so tests of restarting pods stay fast.
        return float(min(self.kubelet.restart_backoff_seconds * 2**run.restart_count, 10.0))

    def _wind_down(self) -> None:
        """Deletion, the pod deadline or the kubelet stopping: kill, report, delete."""
        if self.kubelet.stopping:
            self._kill_all(0.5)
            return
        if self._past_deadline() and self.pod.metadata.deletion_timestamp is None:
            self._kill_all(self._grace())
            self.phase, self.reason = "Failed", "DeadlineExceeded"
            self.message = (
                f"Pod was active on the node longer than the specified deadline"
                f" ({self.pod.spec.active_deadline_seconds}s)"
            )
            self.report()
            return
        self._kill_all(self._grace())
        if self.gone:
            return
        if self.phase not in TERMINAL_PHASES:
            ran_ok = self.initialized and all(r.succeeded for r in self.runs)
            self.phase = "Succeeded" if ran_ok else "Failed"
            self.report()
        _ignore({404, 409}, lambda: self.kubelet._delete_now(self.pod))
        log.info("deleted pod %s/%s", self.namespace, self.name)

    def _grace(self) -> float:
        meta, spec = self.pod.metadata, self.pod.spec
        grace = meta.deletion_grace_period_seconds
        if grace is None:
            grace = spec.termination_grace_period_seconds
        return float(min(30 if grace is None else grace, self.kubelet.max_grace_seconds))

    # -- processes -------------------------------------------------------
    def _termination_file(self, name: str) -> Path:
        return self.dir / "termination" / name

    def _log_file(self, name: str, run_index: int) -> Path:
        return self.dir / "logs" / f"{name}-{run_index}.log"

    def _start(self, spec: Any, run: ContainerRun) -> bool:
        """Start one run of a container; False when its config is not there yet."""
        objects = NamespaceObjects(self.core, self.namespace)
        try:
            env = container_env(
                self.pod, spec, secret=objects.secret, config_map=objects.config_map,
                service_env=self.kubelet.service_env, node_allocatable=self.kubelet.capacity,
            )
            argv = command_line(spec, env, self.kubelet.images)
            paths = self._path_map(spec, env)
        except ConfigError as err:
            run.wait("CreateContainerConfigError", str(err))
            return False
        termination = self._termination_file(spec.name)
        termination.parent.mkdir(parents=True, exist_ok=True)
        termination.write_bytes(b"")
        home = self.dir / "home"
        home.mkdir(exist_ok=True)
        process_env = {"PATH": self.kubelet.path, "HOME": str(home), "HOSTNAME": self.name,
                       "LANG": "C.UTF-8"}
        process_env.update({k: paths.rewrite(v) for k, v in env.items()})
        run_index = run.restart_count + (1 if run.has_ended else 0)
        log_path = self._log_file(spec.name, run_index)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with log_path.open("ab") as out:
                proc = subprocess.Popen(
                    paths.rewrite_all(argv), env=process_env,
                    cwd=self._working_dir(spec, paths), stdin=subprocess.DEVNULL,
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )
        except OSError as err:
            # What a runtime reports when the executable is missing: exit 128.
            run.started_at = None
            run.terminated(128, f"failed to start {argv[:1]}: {err.strerror}", "StartError")
            return True
        self.procs[spec.name] = proc
        run.running(proc.pid)
        log.info("started %s/%s[%s] pid %d: %s", self.namespace, self.name, spec.name,
                 proc.pid, argv[:1])
        return True

    def _path_map(self, spec: Any, env: Mapping[str, str]) -> PathMap:
        mounts: dict[str, str] = {}
        for mount in spec.volume_mounts or []:
            if mount.name not in self.volumes:
                raise ConfigError(f"volume {mount.name!r} is not defined in the pod")
            source = self.volumes[mount.name]
            sub = mount.sub_path or expand(mount.sub_path_expr or "", env)
            if sub:
                source = source / sub
                if not source.exists():
                    source.mkdir(parents=True)
            mounts[mount.mount_path] = str(source)
        path = spec.termination_message_path or DEFAULT_TERMINATION_PATH
        mounts[path] = str(self._termination_file(spec.name))
        return PathMap(mounts)

    def _working_dir(self, spec: Any, paths: PathMap) -> Path:
        """The container's workingDir: behind a mount if it is in one, else a
        directory of the pod's own 'root filesystem' (created, as a runtime does)."""
        root = self.dir / "rootfs"
        wanted = spec.working_dir
        local = Path(paths.rewrite(wanted)) if wanted else root
        if wanted and local == Path(wanted):
            local = root / wanted.lstrip("/")
        local.mkdir(parents=True, exist_ok=True)
        return local

    def _reap(self, spec: Any, run: ContainerRun) -> bool:
        """Record the run's end if its process exited; True when it did."""
        proc = self.procs.get(spec.name)
        if proc is None:
            return False
        code = proc.poll()
        if code is None:
            return False
        # A container ends with its main process: nothing it forked survives.
        _kill_group(proc.pid, signal.SIGKILL)
        del self.procs[spec.name]
        exit_code = code if code >= 0 else 128 - code
        log_path = self._log_file(spec.name, run.restart_count)
        tail = b""
        if log_path.exists():
            with log_path.open("rb") as f:
                f.seek(max(0, log_path.stat().st_size - 65536))
                tail = f.read()
        written = self._termination_file(spec.name).read_bytes()
        run.terminated(
            exit_code,
            termination_message(written, exit_code, spec.termination_message_policy, tail),
        )
        log.info("%s/%s[%s] exited %d", self.namespace, self.name, spec.name, exit_code)
        return True

    def _kill_all(self, grace: float) -> None:
        """SIGTERM every container's process group, SIGKILL what outlives the grace."""
        for proc in self.procs.values():
            _kill_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(p.poll() is None for p in self.procs.values()):
            time.sleep(0.05)
        for proc in self.procs.values():
            _kill_group(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        specs = {s.name: s for s in self.init_specs + self.specs}
        for run in self.init_runs + self.runs:
            if run.name in self.procs:
                self._reap(specs[run.name], run)

    # -- status ----------------------------------------------------------
    def _set_conditions(self) -> None:
        terminal = self.phase in TERMINAL_PHASES
        ready = self.phase == "Running" and all(r.state == "running" for r in self.runs)
        not_ready = "PodCompleted" if terminal else "ContainersNotReady"
        current = {c.type for c in (self.pod.status.conditions or [])} if self.pod.status else set()
        if "PodScheduled" not in current:
            self.conditions.set("PodScheduled", True)
        self.conditions.set("PodReadyToStartContainers", self.volumes_ready)
        self.conditions.set("Initialized", self.initialized, "ContainersNotInitialized")
        self.conditions.set("ContainersReady", ready, not_ready)
        self.conditions.set("Ready", ready, not_ready)

    def report(self) -> None:
        """Patch the whole kubelet-owned status. A strategic merge keeps
        conditions others own (PodScheduled, DisruptionTarget) by type."""
        self._set_conditions()
        status: dict[str, Any] = {
            "phase": self.phase,
            "reason": self.reason,
            "message": self.message,
            "hostIP": LOOPBACK, "hostIPs": [{"ip": LOOPBACK}],
            "podIP": LOOPBACK, "podIPs": [{"ip": LOOPBACK}],
            "startTime": timestamp(self.start_time),
            "conditions": self.conditions.as_list(),
            "containerStatuses": [r.status() for r in self.runs],
        }
        if self.init_runs:
            status["initContainerStatuses"] = [r.status() for r in self.init_runs]
        for attempt in range(5):
            try:
                self.core.patch_namespaced_pod_status(self.name, self.namespace, {"status": status})
                return
            except ApiException as err:
                if err.status == 404:
                    self.gone = True
                    return
                log.warning("status of %s/%s not written (%s %s), attempt %d",
                            self.namespace, self.name, err.status, err.reason, attempt + 1)
                time.sleep(0.5)
