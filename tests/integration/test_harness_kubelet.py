"""The process kubelet runs pods the real scheduler binds to it and reports
status the real Job controller acts on. Every test asserts observed state."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.kubelet import NODE_NAME, ProcessKubelet
from tests.localcluster.mysql_tree import pinned_version
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


@pytest.fixture
def namespace(control_plane: ControlPlane, kubelet: ProcessKubelet) -> Iterator[str]:
    core = client.CoreV1Api(control_plane.api_client())
    name = f"kubelet-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    wait_for("the default ServiceAccount", lambda: _exists(
        lambda: core.read_namespaced_service_account("default", name)), timeout=30)
    yield name
    core.delete_namespace(name)


@pytest.fixture
def core(control_plane: ControlPlane) -> client.CoreV1Api:
    return client.CoreV1Api(control_plane.api_client())


@pytest.fixture
def batch(control_plane: ControlPlane) -> client.BatchV1Api:
    return client.BatchV1Api(control_plane.api_client())


def _exists(read: Any) -> bool:
    try:
        read()
    except ApiException as err:
        if err.status == 404:
            return False
        raise
    return True


def _container(script: str, **extra: Any) -> dict[str, Any]:
    return {"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", script]} | extra


def _pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": containers,
                 "terminationGracePeriodSeconds": 2} | spec,
    }


def _job(name: str, script: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
                                       "containers": [_container(script)]}}} | spec,
    }


def _pod_phase(core: client.CoreV1Api, ns: str, name: str, *phases: str) -> Any:
    pod = core.read_namespaced_pod(name, ns)
    return pod if pod.status.phase in phases else None


def _job_condition(batch: client.BatchV1Api, ns: str, name: str, type_: str) -> Any:
    job = batch.read_namespaced_job(name, ns)
    for condition in job.status.conditions or []:
        if condition.type == type_ and condition.status == "True":
            return condition
    return None


def _job_pods(core: client.CoreV1Api, ns: str, job: str) -> list[Any]:
    return list(core.list_namespaced_pod(ns, label_selector=f"job-name={job}").items)


def test_the_node_is_ready_untainted_and_heartbeating(
    core: client.CoreV1Api, control_plane: ControlPlane, kubelet: ProcessKubelet
) -> None:
    node = core.read_node(NODE_NAME)
    ready = {c.type: c.status for c in node.status.conditions}
    assert ready["Ready"] == "True"
    assert not node.spec.taints
    assert node.status.allocatable["pods"]
    lease = client.CoordinationV1Api(control_plane.api_client()).read_namespaced_lease(
        NODE_NAME, "kube-node-lease"
    )
    assert lease.spec.holder_identity == NODE_NAME


def test_a_job_completes_with_its_termination_message(
    core: client.CoreV1Api, batch: client.BatchV1Api, kubelet: ProcessKubelet, namespace: str
) -> None:
    batch.create_namespaced_job(
        namespace, _job("hello", "echo to-the-log; echo hi > /dev/termination-log; exit 0")
    )

    wait_for("Job hello Complete", lambda: _job_condition(batch, namespace, "hello", "Complete"))

    (pod,) = _job_pods(core, namespace, "hello")
    assert pod.status.phase == "Succeeded"
    assert pod.spec.node_name == NODE_NAME  # bound by the real scheduler
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (0, "Completed")
    assert terminated.message.strip() == "hi"
    assert kubelet.container_log(namespace, pod.metadata.name, "main") == "to-the-log\n"
    assert not os.path.exists("/dev/termination-log")  # the path was mapped to a local file
    wait_for("the Job controller to drop its tracking finalizer",
             lambda: not core.read_namespaced_pod(pod.metadata.name, namespace).metadata.finalizers)


def test_pods_reach_both_database_families_clients(
    core: client.CoreV1Api, batch: client.BatchV1Api, kubelet: ProcessKubelet, namespace: str
) -> None:
    """A pod's PATH gives MySQL's own `mysqldump`/`mysql` under those names and
    MariaDB's under `mariadb-dump`/`mariadb` (Debian's mariadb-client also
    installs `mysqldump`/`mysql` symlinks; they must not win)."""
    script = ("mysqldump --version; mysql --version; mariadb-dump --version; "
              "mariadb --version")
    batch.create_namespaced_job(namespace, _job("clients", script))

    wait_for("Job clients Complete",
             lambda: _job_condition(batch, namespace, "clients", "Complete"))

    (pod,) = _job_pods(core, namespace, "clients")
    lines = kubelet.container_log(namespace, pod.metadata.name, "main").splitlines()
    assert len(lines) == 4, lines
    mysqldump, mysql, mariadb_dump, mariadb = lines
    pinned = f"Ver {pinned_version()} "
    assert pinned in mysqldump and "MariaDB" not in mysqldump
    assert pinned in mysql and "MariaDB" not in mysql
    assert "MariaDB" in mariadb_dump and "MariaDB" in mariadb


def test_a_failing_job_fails_after_its_backoff(
    core: client.CoreV1Api, batch: client.BatchV1Api, namespace: str
) -> None:
    batch.create_namespaced_job(namespace, _job("fails", "exit 3", backoffLimit=1))

    failed = wait_for("Job fails Failed",
                      lambda: _job_condition(batch, namespace, "fails", "Failed"), timeout=60)

    assert failed.reason == "BackoffLimitExceeded"
    pods = _job_pods(core, namespace, "fails")
    assert len(pods) == 2
    for pod in pods:
        assert pod.status.phase == "Failed"
        assert pod.status.container_statuses[0].state.terminated.exit_code == 3


def test_pod_failure_policy_sees_the_exit_code(
    core: client.CoreV1Api, batch: client.BatchV1Api, namespace: str
) -> None:
    policy = {"rules": [{"action": "FailJob",
                         "onExitCodes": {"operator": "In", "values": [42]}}]}
    batch.create_namespaced_job(
        namespace, _job("policy", "exit 42", backoffLimit=6, podFailurePolicy=policy)
    )

    failed = wait_for("Job policy Failed",
                      lambda: _job_condition(batch, namespace, "policy", "Failed"))

    assert failed.reason == "PodFailurePolicy"
    assert len(_job_pods(core, namespace, "policy")) == 1


def test_env_reaches_the_process(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="creds"), string_data={"password": "s3cr3t"}))
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="settings"), data={"mode": "ro", "level": "3"}))
    env = [
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
        {"name": "ABSENT", "valueFrom": {"configMapKeyRef": {
            "name": "settings", "key": "nope", "optional": True}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "GREETING", "value": "mode=$(MODE) $$(MODE) $(UNDEFINED)"},
    ]
    script = ('printf "%s|%s|%s|%s|%s|%s|%s|%s|%s" "$PASSWORD" "$MODE" "${ABSENT-unset}" "$POD"'
              ' "$NS" "$NODE" "$GREETING" "$CFG_level" "$1" > /dev/termination-log')
    container = _container(script, env=env, args=["$(POD)-arg"],
                           envFrom=[{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}])
    container["command"] = ["sh", "-c", script, "sh"]
    core.create_namespaced_pod(namespace, _pod("env", [container]))

    pod = wait_for("pod env Succeeded",
                   lambda: _pod_phase(core, namespace, "env", "Succeeded", "Failed"))

    message = pod.status.container_statuses[0].state.terminated.message
    assert message == (f"s3cr3t|ro|unset|env|{namespace}|{NODE_NAME}"
                       "|mode=ro $(MODE) $(UNDEFINED)|3|env-arg")


def test_a_missing_secret_holds_the_container_until_it_appears(
    core: client.CoreV1Api, namespace: str
) -> None:
    env = [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "late", "key": "token"}}}]
    core.create_namespaced_pod(namespace, _pod(
        "late", [_container('echo "$TOKEN" > /dev/termination-log', env=env)]))

    def waiting_reason() -> str | None:
        """Past ContainerCreating, which a slow pass may report first."""
        statuses = core.read_namespaced_pod("late", namespace).status.container_statuses
        waiting = statuses[0].state.waiting if statuses else None
        reason = str(waiting.reason) if waiting else None
        return None if reason == "ContainerCreating" else reason

    assert wait_for("CreateContainerConfigError", waiting_reason) == "CreateContainerConfigError"
    core.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="late"), string_data={"token": "arrived"}))
    pod = wait_for("pod late Succeeded", lambda: _pod_phase(core, namespace, "late", "Succeeded"))
    assert pod.status.container_statuses[0].state.terminated.message.strip() == "arrived"


def test_secret_configmap_and_emptydir_volumes_are_local_files(
    core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="creds"), string_data={"password": "pw", "user": "u"}))
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="settings"), data={"app.conf": "x=1"}))
    init = _container("echo from-init > /scratch/init.txt") | {
        "name": "init", "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}
    main = _container(
        'cat /etc/creds/password /etc/app/renamed.conf /scratch/init.txt; ls /etc/creds'
        ' > /scratch/ls; cat /scratch/ls > /dev/termination-log; pwd >> /dev/termination-log',
        workingDir="/scratch/work",
        volumeMounts=[
            {"name": "creds", "mountPath": "/etc/creds", "readOnly": True},
            {"name": "settings", "mountPath": "/etc/app"},
            {"name": "scratch", "mountPath": "/scratch"},
        ],
    )
    volumes = [
        {"name": "creds", "secret": {"secretName": "creds"}},
        {"name": "settings", "configMap": {"name": "settings",
                                           "items": [{"key": "app.conf", "path": "renamed.conf"}]}},
        {"name": "scratch", "emptyDir": {}},
    ]
    core.create_namespaced_pod(namespace, _pod("vols", [main], initContainers=[init],
                                               volumes=volumes))

    pod = wait_for("pod vols done",
                   lambda: _pod_phase(core, namespace, "vols", "Succeeded", "Failed"))

    assert pod.status.phase == "Succeeded"
    assert pod.status.init_container_statuses[0].state.terminated.exit_code == 0
    lines = pod.status.container_statuses[0].state.terminated.message.splitlines()
    assert lines[:2] == ["password", "user"]
    assert lines[2].endswith("/volumes/scratch/work")  # workingDir behind the emptyDir mount


def test_on_failure_restarts_the_container_in_place(core: client.CoreV1Api, namespace: str) -> None:
    # Fails on its first run, succeeds on the second (the emptyDir outlives runs).
    script = "if [ -e /state/ran ]; then exit 0; fi; touch /state/ran; exit 1"
    container = _container(script, volumeMounts=[{"name": "state", "mountPath": "/state"}])
    core.create_namespaced_pod(namespace, _pod(
        "again", [container], restartPolicy="OnFailure", volumes=[{"name": "state",
                                                                    "emptyDir": {}}]))

    pod = wait_for("pod again Succeeded",
                   lambda: _pod_phase(core, namespace, "again", "Succeeded", "Failed"))

    status = pod.status.container_statuses[0]
    assert pod.status.phase == "Succeeded"
    assert status.restart_count == 1
    assert status.last_state.terminated.exit_code == 1


def test_deleting_a_running_pod_terminates_its_process(
    core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_pod(namespace, _pod("sleeper", [_container("exec sleep 300")],
                                               terminationGracePeriodSeconds=30))
    pod = wait_for("pod sleeper Running",
                   lambda: _pod_phase(core, namespace, "sleeper", "Running"))
    pid = int(pod.status.container_statuses[0].container_id.removeprefix("process://"))
    os.kill(pid, 0)  # the process is there

    started = time.monotonic()
    core.delete_namespaced_pod("sleeper", namespace)
    wait_for("pod sleeper gone",
             lambda: not _exists(lambda: core.read_namespaced_pod("sleeper", namespace)))

    assert time.monotonic() - started < 10  # SIGTERM ended it; no full 30 s grace
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_active_deadline_fails_the_pod(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, _pod("hung", [_container("exec sleep 300")],
                                               activeDeadlineSeconds=2))

    pod = wait_for("pod hung Failed", lambda: _pod_phase(core, namespace, "hung", "Failed"))

    assert pod.status.reason == "DeadlineExceeded"
    assert pod.status.container_statuses[0].state.terminated.exit_code == 143


def test_a_restarted_kubelet_fails_the_pods_it_cannot_adopt(
    control_plane: ControlPlane, core: client.CoreV1Api, namespace: str, tmp_path: Path
) -> None:
    node = f"restart-{uuid.uuid4().hex[:6]}"
    first = ProcessKubelet(control_plane.api_client(), node, tmp_path / "first").start()
    try:
        core.create_namespaced_pod(
            namespace, _pod("orphan", [_container("exec sleep 300")], nodeName=node)
        )
        pod = wait_for("pod orphan Running",
                       lambda: _pod_phase(core, namespace, "orphan", "Running"))
        pid = int(pod.status.container_statuses[0].container_id.removeprefix("process://"))
    finally:
        first.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # a stopping kubelet leaves no processes behind
    assert core.read_namespaced_pod("orphan", namespace).status.phase == "Running"

    second = ProcessKubelet(control_plane.api_client(), node, tmp_path / "second").start()
    try:
        pod = wait_for("pod orphan Failed",
                       lambda: _pod_phase(core, namespace, "orphan", "Failed"), timeout=10)
    finally:
        second.stop()
        core.delete_node(node)

    assert pod.status.reason == "ProcessKubeletLost"
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (137, "ContainerStatusUnknown")
