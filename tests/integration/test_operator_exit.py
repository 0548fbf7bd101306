"""The operator as a process, a TenantExit applied with kubectl: the read-only
licence is enforced in MariaDB and the cluster, the namespace cannot be deleted,
and the backup Job appears once the licence ends. Cancel reverts everything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.mariadb import MariaDBServer
from tests.localcluster.volumes import LocalVolumes
from tests.support.exit_tenant import ExitTenant, in_seconds, prepare_tenant, remove_tenant
from tests.support.operator_process import OperatorProcess, running_operator
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

DENIED = {1142, 1143, 1044}


@pytest.fixture(scope="module")
def operator(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    with running_operator(control_plane, Path(tmp_path_factory.mktemp("operator"))) as process:
        yield process


@pytest.fixture
def tenant(
    operator: OperatorProcess,
    control_plane: ControlPlane,
    mariadb: MariaDBServer,
    local_volumes: LocalVolumes,
) -> Iterator[ExitTenant]:
    def provision(namespace: str, claim: str, policy: str) -> str:
        return local_volumes.provision(namespace, claim, "16Mi", policy).pv_name

    prepared = prepare_tenant(control_plane, mariadb, provision)
    yield prepared
    remove_tenant(prepared)


def write_refused(conn: object, sql: str) -> None:
    with pytest.raises(pymysql.err.MySQLError) as error, conn.cursor() as cur:  # type: ignore[attr-defined]
        cur.execute(sql)
    assert error.value.args[0] in DENIED, error.value


def test_the_licence_is_enforced_then_the_backup_job_starts(
    tenant: ExitTenant, operator: OperatorProcess
) -> None:
    tenant.apply_exit(tenant.spec(until=in_seconds(25)))
    tenant.wait_for_phase("ReadOnlyLicensed")
    tenant.plane.kubectl(
        "wait", f"texit/{tenant.exit_name}", "--for=condition=ReadOnlyEnforced", "--timeout=30s"
    )

    # The database: reads work, writes and DDL do not.
    conn = tenant.app_connection()
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM clients")
        assert cur.fetchone()[0] == tenant.report.rows["clients"]
    write_refused(conn, "INSERT INTO clients (id) VALUES (999999)")
    write_refused(conn, "UPDATE clients SET first_name = 'x' LIMIT 1")
    write_refused(conn, "ALTER TABLE clients ADD COLUMN sneaky INT")
    conn.close()

    # The cluster: flag set, namespace guarded, volumes retained.
    assert tenant.app_flag() == "true"
    meta = tenant.namespace_meta()
    assert "tenantexit.io/guard" in meta.finalizers
    assert meta.labels["tenantexit.io/deletion"] == "blocked"
    assert meta.labels["tenantexit.io/exit"] == tenant.exit_name
    assert set(tenant.reclaim_policies().values()) == {"Retain"}

    denied = tenant.plane.kubectl("delete", "namespace", tenant.namespace, check=False)
    assert denied.returncode != 0
    assert f"holds the data of TenantExit {tenant.exit_name} (phase ReadOnlyLicensed)" in (
        denied.stderr
    ), denied.stderr
    relabel = tenant.plane.kubectl(
        "label",
        "namespace",
        tenant.namespace,
        "tenantexit.io/deletion=allowed",
        "--overwrite",
        check=False,
    )
    assert relabel.returncode != 0 and "managed by the tenant-exit operator" in relabel.stderr

    # After `until`: the backup Job of attempt 1, owned by the exit.
    exit = tenant.wait_for_phase("BackupRunning", timeout=60)
    [job] = wait_for("the backup Job", tenant.jobs, timeout=30)
    assert job.metadata.name == f"{tenant.exit_name}-backup-1"
    assert job.metadata.owner_references[0].uid == exit["metadata"]["uid"]
    tenant.plane.kubectl(
        "wait",
        f"texit/{tenant.exit_name}",
        f"--for=jsonpath={{.status.backup.job}}={job.metadata.name}",
        "--timeout=30s",
    )
    assert tenant.namespace_meta().annotations["tenantexit.io/phase"] == "BackupRunning"

    reasons = {e["reason"] for e in tenant.events()}
    assert {"ReadOnlyLicensed", "BackupRunning", "WritesRevoked", "BackupJobCreated"} <= reasons

    # No credential in status, events or the operator's log.
    exposed = json.dumps(tenant.exit()) + json.dumps(tenant.events()) + operator.logs()
    for secret in tenant.secrets:
        assert secret not in exposed


def test_cancel_restores_grants_flag_labels_finalizers_and_reclaim_policies(
    tenant: ExitTenant,
) -> None:
    grants_before = tenant.show_grants()
    meta_before = tenant.namespace_meta()
    policies_before = tenant.reclaim_policies()
    assert tenant.app_flag() == "false"

    tenant.apply_exit(tenant.spec(until=in_seconds(3600)))
    tenant.wait_for_phase("ReadOnlyLicensed")
    assert tenant.show_grants() != grants_before

    tenant.delete_exit()

    assert tenant.show_grants() == grants_before
    assert tenant.app_flag() == "false"
    meta = tenant.namespace_meta()
    assert meta.labels == meta_before.labels
    assert (meta.annotations or {}) == (meta_before.annotations or {})
    assert (meta.finalizers or []) == (meta_before.finalizers or [])
    assert tenant.reclaim_policies() == policies_before
    conn = tenant.app_connection()
    with conn.cursor() as cur:
        cur.execute("UPDATE clients SET first_name = first_name LIMIT 1")
    conn.close()
    # The namespace is an ordinary one again: the admin may delete it.
    tenant.plane.kubectl("delete", "namespace", tenant.namespace, "--wait=false")
