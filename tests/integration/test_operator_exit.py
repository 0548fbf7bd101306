"""The operator as a process, a TenantExit applied with kubectl: the read-only
licence is enforced in MariaDB and the cluster, the namespace cannot be deleted,
and the backup Job appears once the licence ends. Cancel reverts everything."""

from __future__ import annotations

import json

import pymysql
import pytest
from kubernetes import client

from tests.localcluster.families import UNTIL_WORKER_DUMPS_MYSQL
from tests.support.exit_tenant import ExitTenant, in_seconds
from tests.support.operator_process import OPERATOR_NAMESPACE, OperatorProcess
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, UNTIL_WORKER_DUMPS_MYSQL]

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
    # A links Secret as delivery leaves it (reaching AwaitingReceipt for real takes
    # a whole backup; the e2e test does that): a cancel must withdraw it.
    links = f"{exit_tenant.exit_name}-download-links"
    exit_tenant.core.create_namespaced_secret(OPERATOR_NAMESPACE, client.V1Secret(
        metadata=client.V1ObjectMeta(name=links),
        string_data={"links.json": '{"objects": [{"url": "https://presigned.example/x"}]}'}))

    exit_tenant.delete_exit()

    remaining = [s.metadata.name for s in
                 exit_tenant.core.list_namespaced_secret(OPERATOR_NAMESPACE).items]
    assert links not in remaining, "a cancel leaves no live download links behind"

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


def test_a_cancel_without_its_revert_record_is_loud_and_waits_for_a_person(
    exit_tenant: ExitTenant,
) -> None:
    """The revert record lives in the operator's namespace; if it is lost (that
    namespace deleted, the chart reinstalled elsewhere) a cancel must not lift the
    guards as if the grants were restored. It says so and waits for a person."""
    exit_tenant.apply_exit(exit_tenant.spec(until=in_seconds(3600)))
    exit_tenant.wait_for_phase("ReadOnlyLicensed")
    wait_for("the revoked accounts in status", lambda: (exit_tenant.exit() or {}).get(
        "status", {}).get("readOnly", {}).get("accounts"), timeout=30)
    revoked = exit_tenant.show_grants()
    exit_tenant.core.delete_namespaced_secret(f"{exit_tenant.exit_name}-revert",
                                              OPERATOR_NAMESPACE)

    exit_tenant.plane.kubectl("delete", "texit", exit_tenant.exit_name, "--wait=false")

    def refusal() -> list[dict]:
        return [e for e in exit_tenant.events()
                if e["type"] == "Warning" and e["reason"] == "CancelFailed"
                and "revert record" in e["message"]]

    [event, *_] = wait_for("a Warning Event naming the lost record", refusal, timeout=60)
    assert exit_tenant.report.app_user in event["message"]
    assert "tenantexit.io/revert-record-lost=acknowledged" in event["message"]
    assert exit_tenant.exit() is not None, "the finalizer holds the exit"
    assert "tenantexit.io/guard" in exit_tenant.namespace_meta().finalizers
    assert exit_tenant.show_grants() == revoked, "nothing pretended to be restored"

    exit_tenant.plane.kubectl("annotate", "texit", exit_tenant.exit_name,
                              "tenantexit.io/revert-record-lost=acknowledged")
    wait_for("the acknowledged cancel to finish", lambda: exit_tenant.exit() is None,
             timeout=120)
    assert "tenantexit.io/guard" not in (exit_tenant.namespace_meta().finalizers or [])
