"""What a decision asks for. Side-effect actions are executed by adapters, in
order; status actions are folded into the new status by `status_update.fold`.

Every side-effect action is idempotent: executing it twice (a handler killed
mid-way runs again) ends in the same state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from tenant_exit.api import conditions as c
from tenant_exit.api.policy import ExitPolicy
from tenant_exit.api.spec import AppFlag, DatabaseReadOnlyMode
from tenant_exit.api.status import (
    BackupRetention,
    BackupTerms,
    ConditionStatus,
    ExcludedTableStatus,
    Phase,
    TenantVolume,
)

# --- side effects ----------------------------------------------------------
# Each carries `reason`, the condition reason its failure is reported under
# (reconcile/failures.py reads `action.reason`, so mypy rejects a member of
# SideEffect without one; tests/unit/test_actions_total.py checks it as well).


@dataclass(frozen=True)
class ApplyGuards:
    """Namespace finalizer + labels + phase annotation; bound PVs set to Retain."""

    reason: ClassVar[str] = c.GUARDS_FAILED

    phase: Phase
    namespace_uid: str
    """Only the namespace with this UID is guarded."""


@dataclass(frozen=True)
class RemoveGuards:
    """Undo ApplyGuards: labels, annotation, finalizer, original reclaim policies of
    volumes still bound (a Released one stays Retain)."""

    namespace_uid: str | None
    claim_uids: tuple[str, ...] = ()

    reason: ClassVar[str] = c.CANCEL_FAILED


@dataclass(frozen=True)
class EnforceReadOnly:
    reason: ClassVar[str] = c.READ_ONLY_FAILED

    mode: DatabaseReadOnlyMode


@dataclass(frozen=True)
class RevertReadOnly:
    """Restore the remembered grants / read_only flag; a no-op if none remembered."""

    reason: ClassVar[str] = c.CANCEL_FAILED


@dataclass(frozen=True)
class SetAppFlag:
    reason: ClassVar[str] = c.READ_ONLY_FAILED

    flag: AppFlag


@dataclass(frozen=True)
class ResetAppFlag:
    reason: ClassVar[str] = c.CANCEL_FAILED

    flag: AppFlag


@dataclass(frozen=True)
class CopyS3Credentials:
    """Give the Job its upload credentials in the tenant namespace: a session scoped to
    the exit's folder, presigned URLs for the attempt's uploads (Presigned), or
    (PlatformKeys) a copy of the keys. Also renews the session, or tops up the URLs,
    of a running Job (phases.backup_running)."""

    reason: ClassVar[str] = c.BACKUP_START_FAILED
    attempt: int = 1
    """Named in the session (RoleSessionName), so the store's audit log shows it."""


@dataclass(frozen=True)
class AbortUnfinishedUploads:
    """Abort the unfinished uploads of an ended attempt and delete its presigned URLs
    (uploadCredentials Presigned: the operator started the uploads, and the worker
    holds no key to clean up after a crash)."""

    # Not BackupJobFailed: that is the phase's own verdict on a Job (metrics count it,
    # and the resync timer must not read it as an adapter failure). Failing here
    # holds back the next attempt's start.
    reason: ClassVar[str] = c.BACKUP_START_FAILED
    attempt: int


@dataclass(frozen=True)
class ConfirmUploadRetention:
    """Read back, and set where missing, the Object Lock retention of a finished
    presigned backup's objects and manifest (the worker has no key to do it)."""

    reason: ClassVar[str] = c.RETENTION_FAILED
    manifest_key: str
    manifest_version_id: str | None = None


@dataclass(frozen=True)
class RemoveS3Credentials:
    """Delete the copy made by CopyS3Credentials."""

    reason: ClassVar[str] = c.CANCEL_FAILED


@dataclass(frozen=True)
class CreateBackupJob:
    reason: ClassVar[str] = c.BACKUP_START_FAILED

    attempt: int


@dataclass(frozen=True)
class CreateVerifyJob:
    """The Job in the operator's namespace that reads the attempt's every object back
    through presigned links (plan Secret first); create-or-get."""

    reason: ClassVar[str] = c.VERIFY_START_FAILED

    attempt: int
    manifest_key: str
    manifest_sha256: str


@dataclass(frozen=True)
class DeliverBackup:
    """Customer README.txt next to the backup and presigned links in a Secret in the
    operator's namespace (links are credentials: never in status)."""

    reason: ClassVar[str] = c.DELIVERY_FAILED

    manifest_key: str
    manifest_sha256: str


@dataclass(frozen=True)
class ExtendRetention:
    """Lengthen the Object Lock retention of the manifest and every object it lists to
    at least `until` (never shortened); reports the date in force."""

    reason: ClassVar[str] = c.RETENTION_FAILED

    until: datetime


@dataclass(frozen=True)
class RemoveDownloadLinks:
    """Delete the download-links Secret (cancel: the backup is no longer handed over)."""

    reason: ClassVar[str] = c.CANCEL_FAILED


@dataclass(frozen=True)
class AllowNamespaceDeletion:
    """Flip the guard label to `allowed` so the admission policy lets the DELETE pass."""

    reason: ClassVar[str] = c.DELETION_FAILED

    namespace_uid: str


@dataclass(frozen=True)
class ReleaseVolumes:
    """Reclaim policy Delete on the volumes of the recorded claims (by claim UID):
    their data goes with the claims."""

    reason: ClassVar[str] = c.DELETION_FAILED

    claim_uids: tuple[str, ...]


@dataclass(frozen=True)
class DropDatabases:
    """Drop exactly these schemas (the manifest's) on the recorded server."""

    reason: ClassVar[str] = c.DELETION_FAILED

    schemas: tuple[str, ...]
    host: str
    port: int


@dataclass(frozen=True)
class DeleteNamespace:
    reason: ClassVar[str] = c.DELETION_FAILED

    namespace_uid: str


@dataclass(frozen=True)
class ReleaseNamespace:
    """Remove the guard finalizer from the emptied namespace."""

    reason: ClassVar[str] = c.DELETION_FAILED

    namespace_uid: str


@dataclass(frozen=True)
class WriteCertificate:
    """Store deletion-certificate.json next to the backup (from the recorded status)."""

    reason: ClassVar[str] = c.DELETION_FAILED

    completed_at: datetime


@dataclass(frozen=True)
class ForgetExitRecords:
    """Delete the revert record and the download-links Secret: nothing is left to
    revert and the customer has confirmed the download."""

    reason: ClassVar[str] = c.DELETION_FAILED


SideEffect = (
    ApplyGuards
    | RemoveGuards
    | EnforceReadOnly
    | RevertReadOnly
    | SetAppFlag
    | ResetAppFlag
    | CopyS3Credentials
    | AbortUnfinishedUploads
    | ConfirmUploadRetention
    | RemoveS3Credentials
    | CreateBackupJob
    | CreateVerifyJob
    | DeliverBackup
    | ExtendRetention
    | RemoveDownloadLinks
    | AllowNamespaceDeletion
    | ReleaseVolumes
    | DropDatabases
    | DeleteNamespace
    | ReleaseNamespace
    | WriteCertificate
    | ForgetExitRecords
)

# --- status ------------------------------------------------------------------


@dataclass(frozen=True)
class SetPhase:
    phase: Phase
    message: str


@dataclass(frozen=True)
class SetCondition:
    type: str
    status: ConditionStatus
    reason: str
    message: str


@dataclass(frozen=True)
class RecordReadOnly:
    enforced_at: datetime
    until: datetime | None


@dataclass(frozen=True)
class RecordReadOnlyAccounts:
    """Reported by the read-only adapter: which accounts lost their writes."""

    accounts: tuple[str, ...]


@dataclass(frozen=True)
class RecordBackupJob:
    job: str
    attempt: int
    started_at: datetime


@dataclass(frozen=True)
class HoldDeletion:
    """The TenantExit may not be removed yet (from Deleting on the exit completes)."""

    message: str


@dataclass(frozen=True)
class RecordBackupResult:
    completed_at: datetime
    manifest_key: str
    manifest_sha256: str
    tables: int
    rows: int
    database_bytes: int
    files: int
    document_bytes: int
    stored_bytes: int
    schemas: tuple[str, ...] = ()
    """Schemas the verified manifest lists: what a deletion may drop."""
    excluded_tables: tuple[ExcludedTableStatus, ...] = ()
    """Tables the verified manifest lists as left out."""
    manifest_version_id: str | None = None
    """The store's version id of the verified manifest (versioned buckets)."""
    retention: BackupRetention | None = None
    """The Object Lock retention the manifest records (None: no Object Lock)."""


@dataclass(frozen=True)
class RecordBackupRejected:
    """The operator read the attempt's backup and it does not match: not again."""

    job: str
    checked_at: datetime
    problem: str


@dataclass(frozen=True)
class RecordDelivery:
    download_secret: str
    links_expire_at: datetime
    readme: str
    signature: str
    """Key of manifest.json.sig."""
    public_key: str
    """The public key that verifies it."""


@dataclass(frozen=True)
class RecordRedelivery:
    """The links were re-signed for this value of the redeliver annotation."""

    token: str


@dataclass(frozen=True)
class RecordReceipt:
    confirmed_at: datetime
    confirmed_by: str
    not_before: datetime


@dataclass(frozen=True)
class ClearReceipt:
    """spec.receipt was removed inside the grace period (a wrong digest only holds it)."""


@dataclass(frozen=True)
class RecordDeletionTargets:
    started_at: datetime
    namespace_uid: str | None
    volumes: tuple[TenantVolume, ...]


@dataclass(frozen=True)
class RecordDroppedDatabases:
    schemas: tuple[str, ...]


@dataclass(frozen=True)
class RecordRetention:
    """The Object Lock retention in force after lengthening it."""

    retention: BackupRetention


@dataclass(frozen=True)
class RecordArchiveVerified:
    """The receipted archive was re-read intact in the pass of the first irreversible step."""

    verified_at: datetime


@dataclass(frozen=True)
class RecordCertificate:
    completed_at: datetime
    summary: str
    key: str
    sha256: str
    signature: str
    """Key of the certificate's detached signature."""


# --- identities and recorded terms (issue 10) ---------------------------------


@dataclass(frozen=True)
class RecordTenantIdentity:
    """The tenant namespace's UID, recorded when the exit takes it."""

    namespace_uid: str


@dataclass(frozen=True)
class RecordTenantVolumes:
    """Volumes seen bound to the tenant's claims (added to those recorded)."""

    volumes: tuple[TenantVolume, ...]


@dataclass(frozen=True)
class RecordNotOurs:
    """What of the tenant's name was left alone because it has another UID (None: nothing)."""

    message: str | None


@dataclass(frozen=True)
class RecordTerms:
    """Freeze the backed-up terms in status (entering BackupRunning)."""

    terms: BackupTerms


@dataclass(frozen=True)
class RecordPolicy:
    """Record the class terms the exit runs under (when the operator takes it on)."""

    policy: ExitPolicy


StatusAction = (
    SetPhase
    | SetCondition
    | RecordReadOnly
    | RecordReadOnlyAccounts
    | RecordBackupJob
    | RecordBackupResult
    | RecordBackupRejected
    | RecordDelivery
    | RecordRedelivery
    | RecordReceipt
    | ClearReceipt
    | RecordDeletionTargets
    | RecordDroppedDatabases
    | RecordArchiveVerified
    | RecordRetention
    | RecordCertificate
    | RecordTenantIdentity
    | RecordTenantVolumes
    | RecordNotOurs
    | RecordTerms
    | RecordPolicy
)

Action = SideEffect | StatusAction | HoldDeletion


def side_effects(actions: list[Action]) -> list[SideEffect]:
    return [a for a in actions if isinstance(a, SideEffect)]


def status_actions(actions: list[Action]) -> list[StatusAction]:
    return [a for a in actions if isinstance(a, StatusAction)]
