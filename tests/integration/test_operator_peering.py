"""kopf peering is not leader election: replicas need distinct priorities. With
priorities 10 and 1, only the first acts; when it stops, the standby takes over
and the exit goes on without a duplicate Job."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.localcluster.controlplane import ControlPlane
from tests.support.exit_tenant import ExitTenant, in_seconds
from tests.support.operator_process import (
    ROOT,
    OperatorProcess,
    install_crds,
    operator_kubeconfig,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

PEERING = "tenant-exit-test-peering"
PEERING_CRD = (
    ROOT / "charts" / "tenant-exit-operator" / "crds" / "kopf.dev_clusterkopfpeerings.yaml"
)


def peered(kubeconfig: Path, workdir: Path, priority: int) -> OperatorProcess:
    workdir.mkdir(exist_ok=True)
    env = {
        "TENANT_EXIT_PEERING_NAME": PEERING,
        "TENANT_EXIT_PRIORITY": str(priority),
        "POD_ID": f"replica-{priority}",
    }
    return OperatorProcess(kubeconfig, workdir, env)


@pytest.fixture
def replicas(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[OperatorProcess, OperatorProcess]]:
    """Fresh replicas per test: the test stops the active one, so a second
    parametrisation must not inherit a peering that has already failed over."""
    workdir = Path(tmp_path_factory.mktemp("peering"))
    install_crds(control_plane)
    control_plane.kubectl("apply", "-f", str(PEERING_CRD))
    control_plane.kubectl("wait", "--for=condition=Established", "crd/clusterkopfpeerings.kopf.dev")
    control_plane.kubectl(
        "apply",
        "-f",
        "-",
        input=f"apiVersion: kopf.dev/v1\nkind: ClusterKopfPeering\nmetadata:\n  name: {PEERING}\n",
    )
    kubeconfig = operator_kubeconfig(control_plane, workdir / "operator.kubeconfig")
    active = peered(kubeconfig, workdir / "active", 10).start()
    standby = peered(kubeconfig, workdir / "standby", 1).start()
    try:
        yield active, standby
    finally:
        standby.stop()
        active.stop()


@pytest.fixture
def exit_operator(
    replicas: tuple[OperatorProcess, OperatorProcess],
) -> OperatorProcess:
    """The exit_tenant fixture's operator: here the standby, which is left running."""
    return replicas[1]


def test_only_the_highest_priority_acts_and_the_standby_takes_over(
    exit_tenant: ExitTenant, replicas: tuple[OperatorProcess, OperatorProcess]
) -> None:
    active, standby = replicas
    # kopf starts paused and resumes only when no peer has a higher priority.
    wait_for("the active replica to resume", lambda: "Resuming operations" in active.logs())
    exit_tenant.apply_exit(exit_tenant.spec(until=in_seconds(20)))
    exit_tenant.wait_for_phase("ReadOnlyLicensed")
    # The phase can be in status before kopf logs the handler's outcome with the name.
    wait_for("the active replica to log the exit",
             lambda: exit_tenant.exit_name in active.logs(), timeout=30)
    assert exit_tenant.exit_name not in standby.logs()
    assert "Resuming operations" not in standby.logs()

    active.stop()  # a rolling update: the active replica leaves the peering
    wait_for("the standby to resume", lambda: "Resuming operations" in standby.logs(), timeout=60)
    exit_tenant.wait_for_phase("BackupRunning", timeout=60)
    [job] = wait_for("the backup Job", exit_tenant.jobs, timeout=30)
    assert job.metadata.name == f"{exit_tenant.exit_name}-backup-1"
    assert exit_tenant.exit_name in standby.logs()
