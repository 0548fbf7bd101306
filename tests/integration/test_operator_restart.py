"""kopf handlers run at least once and the operator may die anywhere: killed and
restarted in each phase, the exit goes on, no Job is duplicated, no guard lost."""

from __future__ import annotations

import time

import pytest

from tests.support.exit_tenant import ExitTenant, in_seconds
from tests.support.operator_process import OperatorProcess
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


def assert_guarded(exit_tenant: ExitTenant, phase: str) -> None:
    meta = exit_tenant.namespace_meta()
    assert "tenantexit.io/guard" in meta.finalizers
    assert meta.labels["tenantexit.io/deletion"] == "blocked"
    assert meta.annotations["tenantexit.io/phase"] == phase
    assert set(exit_tenant.reclaim_policies().values()) == {"Retain"}
    denied = exit_tenant.plane.kubectl("delete", "namespace", exit_tenant.namespace, check=False)
    assert denied.returncode != 0 and "cannot be deleted" in denied.stderr


def test_killed_in_every_phase_the_exit_goes_on_without_duplicates(
    exit_tenant: ExitTenant, exit_operator: OperatorProcess
) -> None:
    grants_before = exit_tenant.show_grants()
    # The operator is module-scoped: each database family's run adds its own starts.
    starts_before = exit_operator.starts
    exit_tenant.apply_exit(exit_tenant.spec(until=in_seconds(20)))
    exit_operator.kill()  # somewhere in the first pass, or before it
    exit_operator.start()
    exit_tenant.wait_for_phase("ReadOnlyLicensed")

    exit_operator.kill()
    assert_guarded(exit_tenant, "ReadOnlyLicensed")  # the guards hold while the operator is down
    exit_operator.start()

    exit_tenant.wait_for_phase("BackupRunning", timeout=60)
    wait_for("the backup Job", exit_tenant.jobs, timeout=30)
    exit_operator.kill()
    exit_operator.start()
    time.sleep(6)  # three resync periods of the restarted operator

    [job] = exit_tenant.jobs()
    assert job.metadata.name == f"{exit_tenant.exit_name}-backup-1"
    exit = exit_tenant.exit()
    assert exit is not None
    assert exit["status"]["phase"] == "BackupRunning"
    assert exit["status"]["backup"]["attempts"] == 1
    assert_guarded(exit_tenant, "BackupRunning")
    assert exit_tenant.show_grants() != grants_before  # still read-only
    assert exit_operator.starts == starts_before + 3
