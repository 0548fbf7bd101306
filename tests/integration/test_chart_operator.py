"""The real operator, running with nothing but the chart's ServiceAccount token,
peering and the chart's RBAC, takes a TenantExit into its first phase and cancels
it — no call refused. Two replicas on the chart's peering object: only the one
with the higher priority acts. (The full exit with the chart's RBAC is the e2e.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tenant_exit.api import names
from tests.localcluster.controlplane import ControlPlane
from tests.support.chart_identity import Release, installed_chart, service_account_kubeconfig
from tests.support.operator_process import OperatorProcess
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

RELEASE = "texit-op"
NAMESPACE = "texit-op-system"
PEERING = f"{RELEASE}-tenant-exit-operator"
# kopf's log line when a change handler ran (plain log format; one exit per test).
HANDLED = "Handler 'handle_change' succeeded"


@pytest.fixture(scope="module")
def release(control_plane: ControlPlane) -> Iterator[Release]:
    with installed_chart(control_plane.kubeconfig, control_plane.api_client(),
                         release=RELEASE, namespace=NAMESPACE) as installed:
        control_plane.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                              f"crd/{names.CRD_NAME}", "crd/clusterkopfpeerings.kopf.dev")
        yield installed


def start_operator(plane: ControlPlane, release: Release, workdir: Path,
                   priority: int) -> OperatorProcess:
    """`tenant-exit operator` with the env the chart's StatefulSet gives pod <priority>."""
    workdir.mkdir(parents=True, exist_ok=True)
    kubeconfig = service_account_kubeconfig(
        plane.kubeconfig, plane.api_client(), release.namespace, release.service_account,
        workdir / "operator.kubeconfig",
    )
    env = {
        "POD_ID": f"{PEERING}-{priority}",
        "TENANT_EXIT_OPERATOR_NAMESPACE": release.namespace,
        "TENANT_EXIT_PEERING_NAME": PEERING,
        "TENANT_EXIT_PRIORITY": str(priority),
        "TENANT_EXIT_LOG_FORMAT": "plain",
    }
    return OperatorProcess(kubeconfig, workdir, env).start()


def refusals(logs: str) -> list[str]:
    return [line for line in logs.splitlines() if "Forbidden" in line or " 403" in line]


def peers(plane: ControlPlane) -> dict[str, Any]:
    peering = client.CustomObjectsApi(plane.api_client()).get_cluster_custom_object(
        "kopf.dev", "v1", "clusterkopfpeerings", PEERING
    )
    return dict(peering.get("status") or {})


def test_operator_with_the_chart_identity_runs_an_exit_and_a_cancel(
    control_plane: ControlPlane, release: Release, tmp_path: Path
) -> None:
    api = control_plane.api_client()
    core = client.CoreV1Api(api)
    custom = client.CustomObjectsApi(api)
    tenant = f"tenant-op-{uuid.uuid4().hex[:6]}"
    exit_name = f"exit-{tenant}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=tenant)))
    operator = start_operator(control_plane, release, tmp_path / "op", priority=1)
    try:
        wait_for("the operator in the peering object", lambda: f"{PEERING}-1" in peers(
            control_plane), timeout=30)
        custom.create_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL, {
            "apiVersion": names.API_VERSION, "kind": names.KIND,
            "metadata": {"name": exit_name},
            "spec": {"tenantNamespace": tenant,
                     "database": {"host": "db.example", "credentialsSecret": "creds",
                                  "databases": ["ons"]},
                     # The chart identity's grants are under test, not the write
                     # freeze: no database server answers at db.example.
                     "readOnly": {"database": "None", "writesNotFrozenAcknowledgement": (
                         "chart identity test: no database server runs here")}},
        })

        def phase() -> str | None:
            body = custom.get_cluster_custom_object(
                names.GROUP, names.VERSION, names.PLURAL, exit_name)
            return (body.get("status") or {}).get("phase")

        # No licence end: read-only is enforced (the app flag only) and the backup
        # starts at once.
        wait_for("the exit in BackupRunning", lambda: phase() == "BackupRunning", timeout=60)
        labels = core.read_namespace(tenant).metadata.labels
        assert labels[names.LABEL_EXIT] == exit_name
        assert labels[names.LABEL_DELETION] == names.DELETION_BLOCKED
        assert names.NAMESPACE_FINALIZER in (core.read_namespace(tenant).metadata.finalizers or [])

        # Cancel: the operator lifts its guards (only its identity may) and lets go.
        custom.delete_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL, exit_name)

        def cancelled() -> bool:
            try:
                custom.get_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL,
                                                 exit_name)
            except ApiException as error:
                return bool(error.status == 404)
            return False

        wait_for("the cancelled exit to be gone", cancelled, timeout=60)
        namespace = core.read_namespace(tenant).metadata
        assert names.LABEL_EXIT not in (namespace.labels or {})
        assert names.NAMESPACE_FINALIZER not in (namespace.finalizers or [])
        assert refusals(operator.logs()) == []
    finally:
        operator.stop()
        core.delete_namespace(tenant)


def test_only_the_higher_priority_replica_acts(
    control_plane: ControlPlane, release: Release, tmp_path: Path
) -> None:
    """Pod 1 and pod 0 of the StatefulSet: pod 0 stays paused while pod 1 lives
    (kopf starts paused and stays so in favour of a higher priority), then takes over."""
    custom = client.CustomObjectsApi(control_plane.api_client())
    exit_name = f"exit-peering-{uuid.uuid4().hex[:6]}"

    def observed_generation() -> int:
        body = custom.get_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL,
                                                exit_name)
        return int((body.get("status") or {}).get("observedGeneration") or 0)

    active = start_operator(control_plane, release, tmp_path / "pod-1", priority=1)
    # The standby starts paused only if it sees a higher priority at start: on a busy
    # machine it could otherwise start before the active replica has announced itself.
    try:
        wait_for("the active replica in the peering object",
                 lambda: f"{PEERING}-1" in peers(control_plane), timeout=60)
    except BaseException:
        active.stop()
        raise
    standby = start_operator(control_plane, release, tmp_path / "pod-0", priority=0)
    try:
        wait_for("both replicas in the peering object",
                 lambda: {f"{PEERING}-0", f"{PEERING}-1"} <= peers(control_plane).keys(),
                 timeout=30)
        # The tenant namespace does not exist: the exit waits, which is enough to act on.
        custom.create_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL, {
            "apiVersion": names.API_VERSION, "kind": names.KIND,
            "metadata": {"name": exit_name},
            "spec": {"tenantNamespace": f"absent-{exit_name}",
                     "database": {"host": "db.example", "credentialsSecret": "creds",
                                  "databases": ["ons"]},
                     "readOnly": {"database": "None", "writesNotFrozenAcknowledgement": (
                         "peering test: no database server runs here")}},
        })
        wait_for("the active replica to handle the exit", lambda: observed_generation() == 1,
                 timeout=30)
        assert HANDLED in active.logs()
        assert HANDLED not in standby.logs(), "the standby acted while paused"

        active.stop()
        wait_for("the standby to resume", lambda: "Resuming operations" in standby.logs(),
                 timeout=90)
        custom.patch_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL, exit_name,
                                           {"spec": {"database": {"host": "db2.example"}}})
        wait_for("the standby to handle the changed exit", lambda: observed_generation() == 2,
                 timeout=30)
        assert HANDLED in standby.logs()
        assert refusals(standby.logs() + active.logs()) == []
    finally:
        active.stop()
        standby.stop()
        try:
            custom.patch_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL,
                                               exit_name, {"metadata": {"finalizers": None}})
            custom.delete_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL,
                                                exit_name)
        except ApiException as error:
            if error.status != 404:
                raise
