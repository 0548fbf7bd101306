"""The operator as a process, a TenantExit applied with kubectl: the read-only
licence is enforced in MariaDB and the cluster, the namespace cannot be deleted,
and the backup Job appears once the licence ends. Cancel reverts everything."""

from __future__ import annotations

import json

import pymysql
import pytest

from tests.support.exit_tenant import ExitTenant, in_seconds
from tests.support.operator_process import OperatorProcess
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

DENIED = {1142, 1143, 1044}


def write_refused(conn: object, sql: str) -> None:
    with pytest.raises(pymysql.err.MySQLError) as error, conn.cursor() as cur:  # type: ignore[attr-defined]
        cur.execute(sql)
    assert error.value.args[0] in DENIED, error.value


def test_the_licence_is_enforced_then_the_backup_job_starts(
    exit_tenant: ExitTenant, exit_operator: OperatorProcess
) -> None:
    exit_tenant.apply_exit(exit_tenant.spec(until=in_seconds(25)))
    exit_tenant.wait_for_phase("ReadOnlyLicensed")
    exit_tenant.plane.kubectl(
        "wait",
        f"texit/{exit_tenant.exit_name}",
        "--for=condition=ReadOnlyEnforced",
        "--timeout=30s",
    )

    # The database: reads work, writes and DDL do not.
    conn = exit_tenant.app_connection()
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM clients")
        assert cur.fetchone()[0] == exit_tenant.report.rows["clients"]
    write_refused(conn, "INSERT INTO clients (id) VALUES (999999)")
    write_refused(conn, "UPDATE clients SET first_name = 'x' LIMIT 1")
    write_refused(conn, "ALTER TABLE clients ADD COLUMN sneaky INT")
    conn.close()

    # The cluster: flag set, namespace guarded, volumes retained.
    assert exit_tenant.app_flag() == "true"
    meta = exit_tenant.namespace_meta()
    assert "tenantexit.io/guard" in meta.finalizers
    assert meta.labels["tenantexit.io/deletion"] == "blocked"
    assert meta.labels["tenantexit.io/exit"] == exit_tenant.exit_name
    assert set(exit_tenant.reclaim_policies().values()) == {"Retain"}

    denied = exit_tenant.plane.kubectl("delete", "namespace", exit_tenant.namespace, check=False)
    assert denied.returncode != 0
    assert f"holds the data of TenantExit {exit_tenant.exit_name} (phase ReadOnlyLicensed)" in (
        denied.stderr
    ), denied.stderr
    relabel = exit_tenant.plane.kubectl(
        "label",
        "namespace",
        exit_tenant.namespace,
        "tenantexit.io/deletion=allowed",
        "--overwrite",
        check=False,
    )
    assert relabel.returncode != 0 and "managed by the tenant-exit operator" in relabel.stderr

    # After `until`: the backup Job of attempt 1, owned by the exit.
    exit = exit_tenant.wait_for_phase("BackupRunning", timeout=60)
    [job] = wait_for("the backup Job", exit_tenant.jobs, timeout=30)
    assert job.metadata.name == f"{exit_tenant.exit_name}-backup-1"
    assert job.metadata.owner_references[0].uid == exit["metadata"]["uid"]
    exit_tenant.plane.kubectl(
        "wait",
        f"texit/{exit_tenant.exit_name}",
        f"--for=jsonpath={{.status.backup.job}}={job.metadata.name}",
        "--timeout=30s",
    )
    assert exit_tenant.namespace_meta().annotations["tenantexit.io/phase"] == "BackupRunning"

    reasons = {e["reason"] for e in exit_tenant.events()}
    assert {"ReadOnlyLicensed", "BackupRunning", "WritesRevoked", "BackupJobCreated"} <= reasons

    # No credential in status, events or the operator's log.
    exposed = (
        json.dumps(exit_tenant.exit()) + json.dumps(exit_tenant.events()) + exit_operator.logs()
    )
    for secret in exit_tenant.secrets:
        assert secret not in exposed


def test_cancel_restores_grants_flag_labels_finalizers_and_reclaim_policies(
    exit_tenant: ExitTenant,
) -> None:
    grants_before = exit_tenant.show_grants()
    meta_before = exit_tenant.namespace_meta()
    policies_before = exit_tenant.reclaim_policies()
    assert exit_tenant.app_flag() == "false"

    exit_tenant.apply_exit(exit_tenant.spec(until=in_seconds(3600)))
    exit_tenant.wait_for_phase("ReadOnlyLicensed")
    assert exit_tenant.show_grants() != grants_before

    exit_tenant.delete_exit()

    assert exit_tenant.show_grants() == grants_before
    assert exit_tenant.app_flag() == "false"
    meta = exit_tenant.namespace_meta()
    assert meta.labels == meta_before.labels
    assert (meta.annotations or {}) == (meta_before.annotations or {})
    assert (meta.finalizers or []) == (meta_before.finalizers or [])
    assert exit_tenant.reclaim_policies() == policies_before
    conn = exit_tenant.app_connection()
    with conn.cursor() as cur:
        cur.execute("UPDATE clients SET first_name = first_name LIMIT 1")
    conn.close()
    # The namespace is an ordinary one again: the admin may delete it.
    exit_tenant.plane.kubectl("delete", "namespace", exit_tenant.namespace, "--wait=false")
