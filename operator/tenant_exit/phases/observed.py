"""What the handlers saw in the cluster before deciding; plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tenant_exit.api.restore import RestoreMode
from tenant_exit.api.status import BackupRetention, ExcludedTableStatus
from tenant_exit.storage.archive_check import ArchiveReading


@dataclass(frozen=True)
class VolumeSeen:
    persistent_volume: str
    claim: str
    capacity: str | None
    claim_uid: str = ""


@dataclass(frozen=True)
class NamespaceState:
    name: str
    terminating: bool = False
    guarded_by: str | None = None
    """Value of the tenantexit.io/exit label: the exit that holds the namespace."""
    has_finalizer: bool = False
    deletion_label: str | None = None
    phase_annotation: str | None = None
    unretained_volumes: tuple[str, ...] = ()
    """PVs bound to claims in the namespace whose reclaim policy is not Retain."""
    uid: str = ""
    """The Namespace's UID: ours only if it is the one recorded at admission."""
    volumes: tuple[VolumeSeen, ...] = ()
    """PVs bound to claims that exist in the namespace now (matched by claim UID)."""


@dataclass(frozen=True)
class JobState:
    name: str
    created_at: datetime | None = None
    active: int = 0
    succeeded: bool = False
    failed: bool = False
    failure_message: str = ""
    termination_message: str = ""
    """The worker's one-line JSON summary (or `{"error": ...}`)."""
    finished_at: datetime | None = None
    """When the Job completed or failed."""
    pending_since: datetime | None = None
    """When the Job's only pod was created, while it is still Pending."""
    claim_holders: tuple[str, ...] = ()
    """Pods on other nodes holding a ReadWriteOnce claim the pending pod needs."""


@dataclass(frozen=True)
class BackupCheck:
    """The operator's own check of a finished backup: the manifest the worker
    reported, read back from the bucket, and every object against it."""

    manifest_key: str
    manifest_sha256: str | None
    """SHA-256 of the manifest as stored; None when it could not be read."""
    reported_sha256: str
    """What the worker's summary says the manifest's SHA-256 is."""
    manifest_version_id: str | None = None
    """The store's version id of the bytes read (None: a bucket without versioning)."""
    retention: BackupRetention | None = None
    """The Object Lock retention the manifest records."""
    problems: tuple[str, ...] = ()
    """Empty when the manifest is this exit's, for the recorded terms. Its objects
    are read back by the verify Job (`Observed.verify_job`), not here."""
    schemas: tuple[str, ...] = ()
    """Schemas the manifest lists."""
    excluded_tables: tuple[ExcludedTableStatus, ...] = ()
    """Tables the manifest lists as left out, with rows and rule."""
    tables: int = 0
    rows: int = 0
    database_bytes: int = 0
    files: int = 0
    document_bytes: int = 0
    stored_bytes: int = 0
    objects: int = 0
    """Objects the manifest lists: what the verify Job must have read."""
    restore_status: str = ""
    """The manifest's verification.status: Verified, Unknown or Off ("" when the
    manifest has no verification section)."""
    restore_reason: str = ""
    restore_message: str = ""

    @property
    def ok(self) -> bool:
        return (
            not self.problems
            and self.manifest_sha256 is not None
            and self.manifest_sha256 == self.reported_sha256
        )




@dataclass(frozen=True)
class DestructionSeen:
    """The tenant namespace and its volumes while the exit is Deleting."""

    namespace_exists: bool
    """The namespace with the recorded UID exists."""
    namespace_uid: str | None
    contents_remaining: bool
    """The namespace controller is still removing objects inside it."""
    bound_volumes: tuple[VolumeSeen, ...]
    """PVs bound to claims in the namespace now (the inventory)."""
    present_volumes: frozenset[str]
    """Recorded PVs that still exist (still claimed by the recorded claim UIDs)."""
    other_namespace_uid: str | None = None
    """A namespace of the tenant's name with another UID: never touched."""


@dataclass(frozen=True)
class BackupPolicy:
    max_attempts: int = 5
    retry_after: timedelta = timedelta(seconds=10)
    """Wait before attempt n+1 is retry_after * 2**(n-1), at most retry_max."""
    retry_max: timedelta = timedelta(hours=1)
    links_valid_for: timedelta = timedelta(days=7)
    restore_default: RestoreMode = RestoreMode.REQUIRED
    """The platform's restore verification level (settings.restore_mode), recorded
    in status.terms for an exit whose spec names none when its backup begins."""
    retention_margin: timedelta = timedelta(days=1)
    """Object Lock retention lasts this much beyond the grace period's end."""

    def wait_after(self, attempt: int) -> timedelta:
        """How long attempt n+1 waits after attempt n finished (capped: the
        doubling would otherwise reach days by attempt 12)."""
        doubled: timedelta = self.retry_after * (2 ** (attempt - 1))
        return min(doubled, self.retry_max)


@dataclass(frozen=True)
class FreezeSeen:
    """The write freeze as read back from the server just before a backup Job."""

    problems: tuple[str, ...] = ()
    """Empty: in force (no write grant left on a tenant schema, or the server's
    read-only flags on). Otherwise what still allows writes, or why it could not
    be checked."""

    @property
    def in_force(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class PresignedSeen:
    """The running Job's presigned uploads (uploadCredentials Presigned): what the
    tenant namespace's file holds and how far the store has the parts."""

    issued_at: datetime
    expires_at: datetime
    window: int
    """Part URLs presigned per object."""
    progress: tuple[tuple[int, int | None], ...] = ()
    """Per object: (the last part number it has a URL for, the highest part the store
    holds: 0 none yet, None the upload is complete or gone). Empty: not listed."""


@dataclass(frozen=True)
class Observed:
    now: datetime
    operator_namespace: str
    namespace: NamespaceState | None
    """None: the tenant namespace does not exist."""
    rivals: tuple[str, ...] = ()
    """Other TenantExits for the same namespace created before this one."""
    app_flag_value: str | None = None
    """Current value of the app flag key (None: key or ConfigMap missing)."""
    backup_job: JobState | None = None
    """The Job of the current attempt, if it exists."""
    credential_namespaces: tuple[str, ...] = field(default_factory=tuple)
    """Namespaces the operator may copy destination credentials from."""
    backup_check: BackupCheck | None = None
    """The manifest of a succeeded Job's backup, read back (BackupRunning only)."""
    verify_job: JobState | None = None
    """The verify Job of the current attempt, once the manifest checks out."""
    destruction: DestructionSeen | None = None
    """The namespace and its volumes (Deleting only)."""
    backup_policy: BackupPolicy = field(default_factory=BackupPolicy)
    guard_problems: tuple[str, ...] | None = ()
    """What is missing or altered in the guard admission policies (None: not read in
    this pass, see guards.guard_check_due; empty: intact)."""
    freeze: FreezeSeen | None = None
    """The write freeze, read back only when a backup Job is about to be created
    (None: not checked in this pass)."""
    upload_session_ends: datetime | None = None
    """When the running backup Job's upload session ends (read only while the Job runs
    with Scoped credentials; None: not read, no session, or platform keys)."""
    upload_session_length: timedelta = timedelta(hours=1)
    """How long a session the operator asks for (renewed when a third is left)."""
    presigned: PresignedSeen | None = None
    """The running Job's presigned uploads (read only while it runs with Presigned)."""
    presigned_leftovers: int | None = None
    """Unfinished uploads in the folder of the current attempt once its Job ended, read
    only with Presigned (the worker holds no key to abort them all) and while the
    tenant namespace still holds that attempt's URLs; None: nothing to clean up."""
    earlier_manifest: str | None = None
    """Key of an earlier attempt's or exit's manifest whose digest spec.receipt quotes
    (looked up only when the receipt does not match the current backup)."""
    archive: ArchiveReading | None = None
    """The receipted manifest and its objects re-read from the store (Deleting, only
    before the first irreversible step: deleting.archive_check_due)."""
