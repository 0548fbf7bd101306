"""`TenantExit.status`: what `kubectl get/describe/wait` read. Never a secret."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from tenant_exit.api.base import ApiModel
from tenant_exit.api.policy import ExitPolicy
from tenant_exit.api.restore import RestoreMode
from tenant_exit.api.types import Sha256Hex, Timestamp


class Phase(StrEnum):
    """The phases in order; an exit never moves backwards or skips one."""

    READ_ONLY_LICENSED = "ReadOnlyLicensed"
    BACKUP_RUNNING = "BackupRunning"
    AWAITING_RECEIPT = "AwaitingReceipt"
    DELETING = "Deleting"
    DELETED = "Deleted"


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(ApiModel):
    """A metav1.Condition."""

    type: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9]*$", max_length=316)]
    """Condition type, e.g. Ready or ReadOnlyEnforced."""
    status: ConditionStatus
    """True, False or Unknown."""
    reason: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", max_length=1024)
    ]
    """CamelCase reason for the last transition."""
    message: Annotated[str, StringConstraints(max_length=32768)] = ""
    """What happened and what to do next."""
    last_transition_time: Timestamp
    """When status last changed."""
    observed_generation: Annotated[int, Field(ge=0)] = 0
    """metadata.generation this condition was computed for."""


class ReadOnlyStatus(ApiModel):
    """The read-only licence as enforced."""

    enforced_at: Timestamp | None = None
    """When read-only was first enforced."""
    until: Timestamp | None = None
    """When the licence ends and the backup starts."""
    accounts: list[str] = []
    """Database accounts whose writes are revoked (names only)."""


class ExcludedTableStatus(ApiModel):
    """A table left out of the dump on purpose: not in the archive."""

    schema_name: str
    """Its schema."""
    table: str
    """The table (or view or sequence)."""
    rows: Annotated[int, Field(ge=0)] | None = None
    """Its exact rows when the dump ran (none for a view or sequence)."""
    rule: str
    """The `database.excludeTables` glob that excluded it."""


class DatabaseSize(ApiModel):
    tables: Annotated[int, Field(ge=0)] = 0
    """Tables in the dump."""
    rows: Annotated[int, Field(ge=0)] = 0
    """Rows in the dump (exact counts, read from the dump itself)."""
    bytes: Annotated[int, Field(ge=0)] = 0
    """Bytes of SQL before compression."""
    excluded_tables: list[ExcludedTableStatus] = []
    """Every table left out of the dump, with its rows and the rule that excluded it
    (as in the manifest and README.txt): what the customer does NOT receive."""


class DocumentsSize(ApiModel):
    files: Annotated[int, Field(ge=0)] = 0
    """Files in the archive."""
    bytes: Annotated[int, Field(ge=0)] = 0
    """Bytes of file content before compression."""


class RejectedBackup(ApiModel):
    """An attempt whose stored backup the operator read and found not matching."""

    job: str
    """The backup Job of that attempt."""
    checked_at: Timestamp
    """When the operator read it."""
    problem: str
    """Why it does not match its manifest (keys, sizes, digests; never a secret)."""


class BackupRetention(ApiModel):
    """The S3 Object Lock retention of every backup object (and the manifest)."""

    mode: str
    """COMPLIANCE or GOVERNANCE."""
    retain_until: Timestamp
    """No version of the backup can be deleted before this (GOVERNANCE: except by an
    identity allowed to bypass it). Lengthened when the receipt is accepted, to cover
    the grace period from then on."""


class BackupStatus(ApiModel):
    """The backup as run."""

    job: str | None = None
    """Name of the current backup Job in the tenant namespace."""
    attempts: Annotated[int, Field(ge=0)] = 0
    """Backup Jobs created so far (the Job name ends in the attempt number)."""
    started_at: Timestamp | None = None
    """When the current Job was created."""
    completed_at: Timestamp | None = None
    """When the backup and its manifest were complete."""
    manifest: str | None = None
    """Object key of manifest.json."""
    manifest_sha256: Sha256Hex | None = None
    """SHA-256 of manifest.json; the receipt must quote it."""
    database: DatabaseSize | None = None
    """What the database dump holds."""
    documents: DocumentsSize | None = None
    """What the documents archive holds."""
    size: str | None = None
    """Human-readable total size (printer column)."""
    download_secret: str | None = None
    """`namespace/name` of the Secret holding presigned download links for the
    customer (links are credentials: they are never in status)."""
    links_expire_at: Timestamp | None = None
    """When the presigned links expire; the operator renews them while it waits."""
    readme: str | None = None
    """Object key of the customer-facing README.txt next to the backup."""
    redelivered_for: str | None = None
    """Value of the `tenantexit.io/redeliver` annotation the links were last
    re-signed for (set the annotation to a new value to force a re-delivery)."""
    rejected: RejectedBackup | None = None
    """The last attempt whose backup failed the operator's check. The operator reads
    a backup once per attempt: while the next attempt waits, this record stands in
    for re-reading every object on every pass."""
    manifest_signature: str | None = None
    """Object key of manifest.json.sig, the operator's Ed25519 signature of the manifest."""
    signing_key: str | None = None
    """The operator's public key (`ed25519:...`) that verifies the manifest and the
    certificate: `tenant-exit verify --public-key` takes it."""
    schemas: list[str] | None = None
    """Schemas the verified manifest lists: exactly what a deletion may drop."""
    manifest_version_id: str | None = None
    """The store's version id of manifest.json (versioned or Object Lock buckets):
    the deletion re-reads exactly this version."""
    retention: BackupRetention | None = None
    """The Object Lock retention in force (None: the bucket has no Object Lock)."""


class ReceiptStatus(ApiModel):
    confirmed_at: Timestamp | None = None
    """When a matching receipt was accepted."""
    confirmed_by: str | None = None
    """Who confirmed it."""


class DestroyedVolumeStatus(ApiModel):
    persistent_volume: str
    """Name of the PersistentVolume."""
    claim: str
    """`namespace/claim` it was bound to."""
    capacity: str | None = None
    """Its capacity."""
    claim_uid: str | None = None
    """UID of that claim."""


class DeletionStatus(ApiModel):
    not_before: Timestamp | None = None
    """The irreversible step does not start before this time."""
    started_at: Timestamp | None = None
    """When the phase Deleting began."""
    namespace_uid: str | None = None
    """UID of the tenant namespace taken into the deletion."""
    volumes: list[DestroyedVolumeStatus] | None = None
    """Volumes bound in the tenant namespace when the deletion began."""
    databases_dropped: list[str] | None = None
    """Schemas dropped on the database server (empty when not configured)."""
    archive_verified_at: Timestamp | None = None
    """When the operator last re-read the receipted manifest (its SHA-256) and HEADed
    every object it lists, in the pass that took the first irreversible step."""
    completed_at: Timestamp | None = None
    """When the tenant namespace and its volumes were gone."""
    certificate: str | None = None
    """Summary of the certificate of destruction."""
    certificate_object: str | None = None
    """Object key of deletion-certificate.json next to the backup."""
    certificate_sha256: Sha256Hex | None = None
    """SHA-256 of deletion-certificate.json."""
    certificate_signature: str | None = None
    """Object key of deletion-certificate.json.sig (Ed25519, key in backup.signingKey)."""


# --- identities and recorded terms (issue 10; docs/security.md, "Invariants") ----
# Status is a trust anchor from BackupRunning on: only the operator's identity may
# write it (the TenantExit admission policy), and every later step acts on what is
# recorded here, never on the live spec or on a name that may now mean something else.


class TenantVolume(ApiModel):
    """A PersistentVolume recorded while it was bound to a claim of the tenant."""

    persistent_volume: str
    """Name of the PersistentVolume."""
    claim: str
    """`namespace/claim` it was bound to."""
    claim_uid: str
    """UID of that claim: a volume is ours only while its claimRef has this UID."""
    capacity: str | None = None
    """Its capacity."""


class TenantIdentity(ApiModel):
    """Who the tenant is, by UID, recorded when the exit took the namespace."""

    namespace_uid: str | None = None
    """UID of the tenant Namespace when the exit was admitted; a namespace of the
    same name with another UID is never touched."""
    volumes: list[TenantVolume] = []
    """Volumes bound to the tenant's claims while the namespace was guarded."""
    not_ours: str | None = None
    """Why something of the tenant's name was left alone (another UID), if anything."""


class BackupTerms(ApiModel):
    """The terms the backup is taken under, frozen when BackupRunning began."""

    exit_uid: str
    """UID of this TenantExit; in every object key and in the manifest."""
    host: str
    """Database server host the backup reads (and deletion drops on)."""
    port: int
    """Database server port."""
    schemas: list[str] = []
    """Schemas requested (empty: every non-system schema the account sees)."""
    claims: list[str] = []
    """Document claims archived."""
    recipients: list[str] = []
    """age recipients every object is encrypted to."""
    bucket: str
    """Destination bucket."""
    prefix: str = ""
    """Destination key prefix."""
    exclude_tables: list[str] = []
    """`schema.table` globs left out of the dump."""
    exit_folder: str
    """`<prefix><exit>-<uid8>/`: every object of this exit lives below it."""
    restore_verification: RestoreMode | None = None
    """The restore verification level in force when the backup began
    (spec.verification.restore, else the platform's default): every backup attempt
    runs under it and the step into Deleting is decided on it, never on the live
    spec. Absent only in terms recorded before the level was one of them (each
    attempt then ran under the level of its time, which its worker enforced); the
    step into Deleting then holds only on a failed proof (RestoreVerified=False)."""


class TenantExitStatus(ApiModel):
    """Observed state of the exit."""

    phase: Phase | None = None
    """ReadOnlyLicensed, BackupRunning, AwaitingReceipt, Deleting or Deleted."""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """metadata.generation last acted upon."""
    conditions: Annotated[
        list[Condition],
        Field(
            json_schema_extra={
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
            }
        ),
    ] = []
    """Ready, ReadOnlyEnforced, BackupComplete, ReceiptConfirmed, Deleted, Stalled."""
    read_only: ReadOnlyStatus | None = None
    """The read-only licence as enforced."""
    backup: BackupStatus | None = None
    """The backup."""
    receipt: ReceiptStatus | None = None
    """The accepted receipt."""
    deletion: DeletionStatus | None = None
    """The deletion."""
    tenant: TenantIdentity | None = None
    """The tenant's identities (namespace and volume claim UIDs)."""
    terms: BackupTerms | None = None
    """The backed-up terms, frozen from BackupRunning on."""
    policy: ExitPolicy | None = None
    """The TenantExitClass terms (defaults and limits) this exit runs under, recorded
    when the operator took it on: later edits of the class do not change them."""
