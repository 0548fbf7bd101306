"""One pod's life on the process kubelet: volumes, init containers in order,
then the containers side by side under the pod's restartPolicy, until a
terminal phase, the pod's deadline or its deletion.

Each container run is a subprocess in its own session (process group), so
SIGTERM/SIGKILL reach everything it started, as a runtime's cgroup kill
would. The worker is the only writer of its pod's status.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.localcluster.podenv import (
    ConfigError,
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
from tests.localcluster.podvolumes import (
    NamespaceObjects,
    UnsupportedVolume,
    prepare_volumes,
    refresh_secret_volumes,
    release_memory_volumes,
)

if TYPE_CHECKING:
    from tests.localcluster.kubelet import ProcessKubelet

LOOPBACK = "127.0.0.1"
DEFAULT_TERMINATION_PATH = "/dev/termination-log"
SECRET_SYNC_SECONDS = 2.0
"""How often a running pod's Secret volumes are rewritten (kubelet: its sync period
plus cache TTL, about a minute; shorter here so tests of a renewal stay short)."""

log = logging.getLogger("tests.localcluster.kubelet")


def kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def ignore_status(statuses: set[int], call: Callable[[], Any]) -> Any:
    """`call()`, or None when the API answers with one of `statuses`."""
    try:
        return call()
    except ApiException as err:
        if err.status in statuses:
            return None
        raise


def delete_now(core: client.CoreV1Api, pod: Any) -> None:
    """The kubelet's last word on a deleted pod: grace 0, guarded by UID so a
    new pod of the same name is never hit. Finalizers are not touched."""
    core.delete_namespaced_pod(
        pod.metadata.name, pod.metadata.namespace,
        body=client.V1DeleteOptions(
            grace_period_seconds=0,
            preconditions=client.V1Preconditions(uid=pod.metadata.uid),
        ),
    )


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
        self.sidecars: list[tuple[Any, ContainerRun]] = []
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
            release_memory_volumes(self.volumes)
            self.kubelet.worker_done(self)

    def _live(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.report()
        if not self._prepare_volumes():
            return self._wind_down()
        for spec, run in zip(self.init_specs, self.init_runs, strict=True):
            if getattr(spec, "restart_policy", None) == "Always":
                # A native sidecar: started, not waited for; it runs beside the
                # containers and is stopped when they have ended.
                self._launch(spec, run)
                self.sidecars.append((spec, run))
                continue
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
        synced = time.monotonic()
        while not self._interrupted():
            if time.monotonic() - synced >= SECRET_SYNC_SECONDS:
                refresh_secret_volumes(self.pod, self.volumes,
                                       NamespaceObjects(self.core, self.namespace))
                synced = time.monotonic()
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
                if self.phase in TERMINAL_PHASES:
                    self._stop_sidecars()
                self.report()
                if self.phase in TERMINAL_PHASES:
                    return
            self._sleep(0.2)
        self._wind_down()

    def _stop_sidecars(self) -> None:
        """The pod's containers have ended: SIGTERM the sidecars, SIGKILL after the
        grace, as a kubelet does (in reverse order of their start)."""
        for spec, run in reversed(self.sidecars):
            proc = self.procs.get(spec.name)
            if proc is None:
                continue
            kill_group(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(self._grace())
            kill_group(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
            self._reap(spec, run)

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
        ignore_status({404, 409}, lambda: delete_now(self.core, self.pod))
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
        kill_group(proc.pid, signal.SIGKILL)
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
            kill_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(p.poll() is None for p in self.procs.values()):
            time.sleep(0.05)
        for proc in self.procs.values():
            kill_group(proc.pid, signal.SIGKILL)
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
