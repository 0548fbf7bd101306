"""Fold status actions into a new status (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from tenant_exit.api import conditions as c
from tenant_exit.api.status import (
    BackupStatus,
    DatabaseSize,
    DeletionStatus,
    DestroyedVolumeStatus,
    DocumentsSize,
    ReadOnlyStatus,
    ReceiptStatus,
    RejectedBackup,
    TenantExitStatus,
    TenantIdentity,
)
from tenant_exit.api.types import human_size
from tenant_exit.phases.actions import (
    ClearReceipt,
    RecordArchiveVerified,
    RecordBackupJob,
    RecordBackupRejected,
    RecordBackupResult,
    RecordCertificate,
    RecordDeletionTargets,
    RecordDelivery,
    RecordDroppedDatabases,
    RecordNotOurs,
    RecordPolicy,
    RecordReadOnly,
    RecordReadOnlyAccounts,
    RecordReceipt,
    RecordRedelivery,
    RecordRetention,
    RecordTenantIdentity,
    RecordTenantVolumes,
    RecordTerms,
    SetCondition,
    SetPhase,
    StatusAction,
)


def fold(
    status: TenantExitStatus,
    actions: Iterable[StatusAction],
    *,
    generation: int,
    now: datetime,
) -> TenantExitStatus:
    updated = status.model_copy(update={"observed_generation": generation})
    for action in actions:
        updated = _apply(updated, action, generation, now)
    return updated


def _apply(
    status: TenantExitStatus, action: StatusAction, generation: int, now: datetime
) -> TenantExitStatus:
    if isinstance(action, SetPhase):
        return status.model_copy(update={"phase": action.phase})
    if isinstance(action, SetCondition):
        conditions = c.set_condition(
            status.conditions,
            type=action.type,
            status=action.status,
            reason=action.reason,
            message=action.message,
            generation=generation,
            now=now,
        )
        return status.model_copy(update={"conditions": conditions})
    if isinstance(action, RecordReadOnly):
        read_only = status.read_only or ReadOnlyStatus()
        enforced_at = read_only.enforced_at or action.enforced_at
        read_only = read_only.model_copy(update={"enforced_at": enforced_at, "until": action.until})
        return status.model_copy(update={"read_only": read_only})
    if isinstance(action, RecordReadOnlyAccounts):
        read_only = (status.read_only or ReadOnlyStatus()).model_copy(
            update={"accounts": sorted(action.accounts)}
        )
        return status.model_copy(update={"read_only": read_only})
    if isinstance(action, RecordBackupJob):
        backup = (status.backup or BackupStatus()).model_copy(
            update={
                "job": action.job,
                "attempts": max(action.attempt, (status.backup or BackupStatus()).attempts),
                "started_at": action.started_at,
            }
        )
        return status.model_copy(update={"backup": backup})
    return _apply_later_phases(status, action)


def _apply_later_phases(status: TenantExitStatus, action: StatusAction) -> TenantExitStatus:
    backup = status.backup or BackupStatus()
    deletion = status.deletion or DeletionStatus()
    if isinstance(action, RecordBackupResult):
        return status.model_copy(update={"backup": backup.model_copy(update={
            "completed_at": action.completed_at,
            "manifest": action.manifest_key,
            "manifest_sha256": action.manifest_sha256,
            "database": DatabaseSize(tables=action.tables, rows=action.rows,
                                     bytes=action.database_bytes,
                                     excluded_tables=list(action.excluded_tables)),
            "documents": DocumentsSize(files=action.files, bytes=action.document_bytes),
            "size": human_size(action.stored_bytes),
            "schemas": list(action.schemas),
            "manifest_version_id": action.manifest_version_id,
            "retention": action.retention,
        })})
    if isinstance(action, RecordBackupRejected):
        rejected = RejectedBackup(job=action.job, checked_at=action.checked_at,
                                  problem=action.problem)
        return status.model_copy(update={"backup": backup.model_copy(
            update={"rejected": rejected})})
    if isinstance(action, RecordDelivery):
        return status.model_copy(update={"backup": backup.model_copy(update={
            "download_secret": action.download_secret,
            "links_expire_at": action.links_expire_at,
            "readme": action.readme,
            "manifest_signature": action.signature,
            "signing_key": action.public_key,
        })})
    if isinstance(action, RecordRedelivery):
        return status.model_copy(update={"backup": backup.model_copy(update={
            "redelivered_for": action.token,
        })})
    if isinstance(action, RecordReceipt):
        return status.model_copy(update={
            "receipt": ReceiptStatus(confirmed_at=action.confirmed_at,
                                     confirmed_by=action.confirmed_by),
            "deletion": deletion.model_copy(update={"not_before": action.not_before}),
        })
    if isinstance(action, ClearReceipt):
        return status.model_copy(update={
            "receipt": None,
            "deletion": deletion.model_copy(update={"not_before": None}),
        })
    if isinstance(action, RecordDeletionTargets):
        volumes = [DestroyedVolumeStatus(persistent_volume=v.persistent_volume, claim=v.claim,
                                         capacity=v.capacity, claim_uid=v.claim_uid)
                   for v in action.volumes]
        return status.model_copy(update={"deletion": deletion.model_copy(update={
            "started_at": action.started_at,
            "namespace_uid": action.namespace_uid,
            "volumes": volumes,
        })})
    if isinstance(action, RecordDroppedDatabases):
        return status.model_copy(update={"deletion": deletion.model_copy(update={
            "databases_dropped": list(action.schemas),
        })})
    if isinstance(action, RecordRetention):
        return status.model_copy(update={"backup": backup.model_copy(update={
            "retention": action.retention,
        })})
    if isinstance(action, RecordArchiveVerified):
        return status.model_copy(update={"deletion": deletion.model_copy(update={
            "archive_verified_at": action.verified_at,
        })})
    if isinstance(action, RecordCertificate):
        return status.model_copy(update={"deletion": deletion.model_copy(update={
            "completed_at": action.completed_at,
            "certificate": action.summary,
            "certificate_object": action.key,
            "certificate_sha256": action.sha256,
            "certificate_signature": action.signature,
        })})
    return _apply_identities(status, action)


def _apply_identities(status: TenantExitStatus, action: StatusAction) -> TenantExitStatus:
    """Identities and recorded terms (issue 10): recorded once, only ever added to."""
    tenant = status.tenant or TenantIdentity()
    if isinstance(action, RecordTenantIdentity):
        if tenant.namespace_uid is not None:
            return status  # the first UID is the tenant's; a later one is someone else's
        return status.model_copy(update={"tenant": tenant.model_copy(
            update={"namespace_uid": action.namespace_uid})})
    if isinstance(action, RecordTenantVolumes):
        known = {v.claim_uid for v in tenant.volumes}
        added = [v for v in action.volumes if v.claim_uid not in known]
        if not added:
            return status
        return status.model_copy(update={"tenant": tenant.model_copy(
            update={"volumes": [*tenant.volumes, *added]})})
    if isinstance(action, RecordNotOurs):
        return status.model_copy(update={"tenant": tenant.model_copy(
            update={"not_ours": action.message})})
    if isinstance(action, RecordTerms):
        if status.terms is not None:
            return status  # frozen: the first record is the backed-up terms
        return status.model_copy(update={"terms": action.terms})
    if isinstance(action, RecordPolicy):
        if status.policy is not None:
            return status  # the first record stands: a class edit changes no running exit
        return status.model_copy(update={"policy": action.policy})
    raise AssertionError(f"unknown status action {action!r}")

