"""Folding the later phases' status actions: each lands in its own status fields,
and what is written to the API server really replaces what was there."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import (
    DatabaseSize,
    DestroyedVolumeStatus,
    DocumentsSize,
    ExcludedTableStatus,
    Phase,
    TenantExitStatus,
    TenantVolume,
)
from tenant_exit.api.types import human_size
from tenant_exit.kube.exits import patch_status
from tenant_exit.phases import actions as a
from tenant_exit.phases.status_update import fold
from tests.support.exits import DIGEST, make_exit

NOW = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)
MANIFEST = "zorggroep-noord/2027-03-02T11-00-00Z/manifest.json"
CERT_DIGEST = "cd" * 32


def awaiting(**status: Any) -> TenantExit:
    return make_exit(status={
        "phase": Phase.AWAITING_RECEIPT.value,
        "backup": {"job": "zorggroep-noord-backup-2", "attempts": 2,
                   "startedAt": "2027-03-02T11:00:00Z", "manifest": MANIFEST,
                   "manifestSha256": DIGEST},
        **status,
    })


def folded(exit: TenantExit, *changes: a.StatusAction) -> TenantExitStatus:
    return fold(exit.status, changes, generation=1, now=NOW)


def test_a_backup_result_fills_the_backup_and_keeps_the_job() -> None:
    exit = make_exit(status={"phase": "BackupRunning",
                             "backup": {"job": "zorggroep-noord-backup-2", "attempts": 2}})
    status = folded(exit, a.RecordBackupResult(
        completed_at=NOW, manifest_key=MANIFEST, manifest_sha256=DIGEST, tables=12, rows=3400,
        database_bytes=5_000_000, files=7, document_bytes=900_000,
        stored_bytes=1_503_238_553,
    ))
    backup = status.backup
    assert backup is not None
    assert (backup.job, backup.attempts) == ("zorggroep-noord-backup-2", 2)
    assert (backup.completed_at, backup.manifest, backup.manifest_sha256) == (
        NOW, MANIFEST, DIGEST)
    assert backup.database == DatabaseSize(tables=12, rows=3400, bytes=5_000_000)
    assert backup.documents == DocumentsSize(files=7, bytes=900_000)
    assert backup.size == "1.4Gi"


def test_a_backup_result_lists_every_excluded_table_with_rows_and_rule() -> None:
    left_out = (ExcludedTableStatus(schema_name="ons", table="audit_log", rows=48213,
                                    rule="*.audit_*"),
                ExcludedTableStatus(schema_name="ons", table="v_audit", rows=None,
                                    rule="*.*audit*"))
    exit = make_exit(status={"phase": "BackupRunning", "backup": {"attempts": 1}})
    status = folded(exit, a.RecordBackupResult(
        completed_at=NOW, manifest_key=MANIFEST, manifest_sha256=DIGEST, tables=12, rows=3400,
        database_bytes=5_000_000, files=7, document_bytes=900_000, stored_bytes=1,
        excluded_tables=left_out))
    assert status.backup is not None and status.backup.database is not None
    assert status.backup.database.excluded_tables == list(left_out)
    written = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert written["backup"]["database"]["excludedTables"][0] == {
        "schemaName": "ons", "table": "audit_log", "rows": 48213, "rule": "*.audit_*"}


def test_a_delivery_records_where_the_links_are_not_the_links() -> None:
    expires = NOW + timedelta(days=7)
    status = folded(awaiting(), a.RecordDelivery(
        download_secret="tenant-exit-system/zorggroep-noord-download", links_expire_at=expires,
        readme="zorggroep-noord/2027-03-02T11-00-00Z/README.txt",
        signature="zorggroep-noord/2027-03-02T11-00-00Z/manifest.json.sig",
        public_key="ed25519:" + "A" * 43 + "=",
    ))
    backup = status.backup
    assert backup is not None
    assert backup.download_secret == "tenant-exit-system/zorggroep-noord-download"
    assert backup.links_expire_at == expires
    assert backup.readme == "zorggroep-noord/2027-03-02T11-00-00Z/README.txt"
    assert backup.manifest_signature == "zorggroep-noord/2027-03-02T11-00-00Z/manifest.json.sig"
    assert backup.signing_key == "ed25519:" + "A" * 43 + "="
    assert (backup.manifest, backup.manifest_sha256) == (MANIFEST, DIGEST)


def test_a_receipt_records_who_when_and_not_before() -> None:
    not_before = NOW + timedelta(hours=72)
    status = folded(awaiting(), a.RecordReceipt(NOW, "it@zorggroep-noord.example", not_before))
    assert status.receipt is not None
    assert (status.receipt.confirmed_at, status.receipt.confirmed_by) == (
        NOW, "it@zorggroep-noord.example")
    assert status.deletion is not None and status.deletion.not_before == not_before


ACCEPTED = {
    "receipt": {"confirmedAt": "2027-03-03T08:00:00Z", "confirmedBy": "it@example.org"},
    "deletion": {"notBefore": "2027-03-06T08:00:00Z"},
}


def test_clearing_the_receipt_clears_receipt_and_not_before() -> None:
    status = folded(awaiting(**ACCEPTED), a.ClearReceipt())
    assert status.receipt is None
    assert status.deletion is None or status.deletion.not_before is None
    assert status.backup is not None and status.backup.manifest_sha256 == DIGEST


class RecordingStatusApi:
    """Stands in for CustomObjectsApi: keeps the stored status and applies each
    status patch as the API server does for application/merge-patch+json."""

    def __init__(self, status: dict[str, Any]) -> None:
        self.status = copy.deepcopy(status)

    def patch_cluster_custom_object_status(self, group: str, version: str, plural: str,
                                           name: str, body: dict[str, Any]) -> None:
        self.status = merge_patch(self.status, body["status"])


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null deletes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def test_a_cleared_receipt_is_really_removed_from_the_stored_status() -> None:
    """The status patch is a JSON merge patch: a field left out of it keeps its old
    value on the server, so clearing must send it as null."""
    exit = awaiting(**ACCEPTED)
    stored = exit.status.model_dump(mode="json", by_alias=True, exclude_none=True)
    api = RecordingStatusApi(stored)
    patch_status(api, exit, folded(exit, a.ClearReceipt()))
    assert "receipt" not in api.status, api.status.get("receipt")
    assert "notBefore" not in api.status.get("deletion", {}), api.status["deletion"]


def test_deletion_targets_and_schemas_are_recorded() -> None:
    exit = make_exit(status={"phase": Phase.DELETING.value, **ACCEPTED})
    status = folded(
        exit,
        a.RecordDeletionTargets(NOW, "ns-uid", (
            TenantVolume(persistent_volume="pvc-1", claim="tenant-x/docs", claim_uid="c-1",
                         capacity="10Gi"),
            TenantVolume(persistent_volume="pvc-2", claim="tenant-x/db", claim_uid="c-2"))),
        a.RecordDroppedDatabases(("ons", "ons_reports")),
    )
    deletion = status.deletion
    assert deletion is not None
    assert (deletion.started_at, deletion.namespace_uid) == (NOW, "ns-uid")
    assert deletion.volumes == [
        DestroyedVolumeStatus(persistent_volume="pvc-1", claim="tenant-x/docs", capacity="10Gi",
                              claim_uid="c-1"),
        DestroyedVolumeStatus(persistent_volume="pvc-2", claim="tenant-x/db", capacity=None,
                              claim_uid="c-2"),
    ]
    assert deletion.databases_dropped == ["ons", "ons_reports"]
    assert deletion.not_before is not None, "the grace period stays on record"
    assert status.receipt is not None


def test_no_schemas_dropped_is_recorded_as_an_empty_list_not_as_unknown() -> None:
    status = folded(make_exit(status={"phase": Phase.DELETING.value}),
                    a.RecordDroppedDatabases(()))
    assert status.deletion is not None and status.deletion.databases_dropped == []


def test_the_certificate_is_summarised_in_status() -> None:
    exit = make_exit(status={"phase": Phase.DELETING.value, **ACCEPTED})
    status = folded(exit, a.RecordCertificate(
        completed_at=NOW, summary="Destroyed namespace tenant-x (uid ns-uid), 2 volumes",
        key="zorggroep-noord/2027-03-02T11-00-00Z/deletion-certificate.json",
        sha256=CERT_DIGEST,
        signature="zorggroep-noord/2027-03-02T11-00-00Z/deletion-certificate.json.sig",
    ))
    deletion = status.deletion
    assert deletion is not None
    assert deletion.completed_at == NOW
    assert deletion.certificate == "Destroyed namespace tenant-x (uid ns-uid), 2 volumes"
    assert deletion.certificate_object == (
        "zorggroep-noord/2027-03-02T11-00-00Z/deletion-certificate.json")
    assert deletion.certificate_sha256 == CERT_DIGEST
    assert deletion.certificate_signature == (
        "zorggroep-noord/2027-03-02T11-00-00Z/deletion-certificate.json.sig")
    assert deletion.not_before is not None


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, "0B"),
        (1023, "1023B"),
        (1024, "1.0Ki"),
        (1536, "1.5Ki"),
        (5 * 1024**2, "5.0Mi"),
        (1_503_238_553, "1.4Gi"),
        (3 * 1024**4, "3.0Ti"),
        (2048 * 1024**4, "2048.0Ti"),
    ],
)
def test_human_size(n: int, shown: str) -> None:
    assert human_size(n) == shown
