"""`TenantExit.spec`: the tenant and the terms of its exit (docs/architecture.md,
"The resource").

Docstrings below are user documentation: the CRD generator copies them into the
schema, so `kubectl explain tenantexit.spec.readOnly` prints them.
Cross-field rules the API server enforces are declared next to the field as CEL
(`x-kubernetes-validations`), so a bad manifest fails at `kubectl apply`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from tenant_exit.api.base import ApiModel
from tenant_exit.api.database import SYSTEM_SCHEMAS
from tenant_exit.api.exclusions import DEFAULT_DOCUMENT_EXCLUDES, DEFAULT_EXCLUDE_TABLES
from tenant_exit.api.restore import RestoreMode
from tenant_exit.api.schema import CLASS_DEFAULT
from tenant_exit.api.types import (
    AGE_RECIPIENT,
    ConfigMapKey,
    GoDuration,
    NamespaceName,
    ObjectName,
    Port,
    Sha256Hex,
)


def cel(rule: str, message: str, **extra: str) -> dict[str, str]:
    """One CEL validation rule with the message `kubectl apply` will print."""
    return {"rule": rule, "message": message, **extra}


def validations(*rules: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


# A field a TenantExitClass may default: no default in the CRD (api/schema.py), the
# model's default applies only when no class gives one (api/policy.py).
BY_CLASS: dict[str, Any] = {CLASS_DEFAULT: True}


class DatabaseReadOnlyMode(StrEnum):
    """How the read-only licence is enforced in the database."""

    REVOKE_WRITES = "RevokeWrites"
    SERVER_READ_ONLY = "ServerReadOnly"
    NONE = "None"


class AppFlag(ApiModel):
    """A ConfigMap key the tenant's applications read to switch to read-only mode."""

    config_map: ObjectName
    """Name of the ConfigMap in the tenant namespace (created if missing)."""
    key: ConfigMapKey
    """Key set to `value` while the exit runs; restored (or removed) on cancel."""
    value: str = "true"
    """Value written to `key` during the exit."""


Account = Annotated[str, StringConstraints(pattern=r"^[^@'`\s]+@[^@'`\s]+$", max_length=350)]


class ReadOnly(ApiModel):
    """The read-only licence period: the tenant may look at, but not change, its data."""

    model_config = ConfigDict(json_schema_extra=validations(cel(
        "!has(self.database) || self.database != 'None' || "
        "(has(self.writesNotFrozenAcknowledgement) && "
        "size(self.writesNotFrozenAcknowledgement) >= 20)",
        "readOnly.database: None leaves the database writable during the backup: rows "
        "written after the dump are deleted with the tenant without being in any archive. "
        "Set readOnly.writesNotFrozenAcknowledgement to a sentence (20 characters or more) "
        "saying who accepts that and why; it is copied into the manifest",
    )))

    until: datetime | None = None
    """End of the licence (RFC 3339). The backup starts once this has passed; when
    empty the backup starts as soon as read-only is enforced."""
    database: Annotated[DatabaseReadOnlyMode, Field(json_schema_extra=BY_CLASS)] = (
        DatabaseReadOnlyMode.REVOKE_WRITES)
    """Default: the class's writeFreeze, else RevokeWrites. RevokeWrites: revoke write
    and DDL privileges of the application accounts on the tenant schemas (prior
    grants are remembered and restored on cancel).
    ServerReadOnly: set the server's global read_only (accounts with SUPER or
    READ_ONLY ADMIN bypass it). None: only the app flag, if any; the database stays
    writable, which needs `writesNotFrozenAcknowledgement`. Without `readOnly` at all
    the exit still uses RevokeWrites: no backup starts against a writable database."""
    writes_not_frozen_acknowledgement: Annotated[
        str, StringConstraints(min_length=1, max_length=1024)] | None = None
    """Required with `database: None`: who accepts that writes are not frozen during
    the backup, and why (e.g. "The application writes nowhere since 2027-02-01;
    accepted by J. Jansen, ticket ZD-48213"). Copied into the manifest."""
    accounts: Annotated[list[Account], Field(max_length=64)] = []
    """Accounts (`user@host`, host may be `%`) whose writes are revoked. Empty means
    every account holding a write privilege on a tenant schema, except the account
    in `database.credentialsSecret`."""
    app_flag: AppFlag | None = None
    """Optional flag the applications read to show a read-only UI."""


ExcludeGlob = Annotated[str, StringConstraints(pattern=r"^[^.\s]+\.[^.\s]+$", max_length=256)]
SchemaName = Annotated[
    str,
    StringConstraints(pattern=r"^[^/\\.\s`]+$", max_length=64),
    Field(
        json_schema_extra=validations(
            cel(
                # In any letter case: on a server with lower_case_table_names=1 `MYSQL`
                # is `mysql` (issue 10).
                f"!(self.lowerAscii() in [{', '.join(repr(s) for s in SYSTEM_SCHEMAS)}])",
                f"system schemas ({', '.join(SYSTEM_SCHEMAS)}) are not tenant data",
            )
        )
    ),
]


class Database(ApiModel):
    """The tenant's MySQL-compatible database."""

    host: Annotated[str, StringConstraints(min_length=1, max_length=253)]
    """Host name of the database server, as seen from the operator and the backup Job."""
    port: Port = 3306
    """TCP port of the database server."""
    credentials_secret: ObjectName
    """Secret in the tenant namespace with keys `username` and `password`. This account
    runs the dump and enforces the read-only licence: it needs SELECT, SHOW VIEW,
    TRIGGER and EVENT on the tenant schemas and read access to routine bodies
    (SELECT on mysql.proc; SHOW_ROUTINE on MySQL 8.0); for RevokeWrites also GRANT
    OPTION (or CREATE USER); for ServerReadOnly SUPER or SYSTEM_VARIABLES_ADMIN; for
    deletion.dropDatabases DROP."""
    databases: Annotated[
        list[SchemaName],
        Field(max_length=64, json_schema_extra={"x-kubernetes-list-type": "set"}),
    ] = []
    """Schemas to back up and make read-only. Empty: every non-system schema — allowed
    only for a server inside tenantNamespace (host `<svc>.<tenantNamespace>[.svc...]`)."""
    exclude_tables: Annotated[
        list[ExcludeGlob],
        Field(max_length=256,
              json_schema_extra={"x-kubernetes-list-type": "set", **BY_CLASS}),
    ] = list(DEFAULT_EXCLUDE_TABLES)
    """`schema.table` globs left out of the dump: by default (for a TenantExit, unless
    its TenantExitClass sets exclusions.tables) the audit log
    (`*.audit_*`) and import/export staging tables (`*.import_*`, `*.export_*`) — the
    retention duty covers data, not logs. Each default starts with a fixed word, so
    it cannot match a clinical table such as `medication_log` or `care_log` (a suffix
    glob like `*.*_log` would). A platform sets its own list here, exact names where
    it can; every excluded table is named in the manifest. Set `[]` to keep all."""


PathGlob = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class DocumentVolume(ApiModel):
    """A PersistentVolumeClaim with client documents, archived into the backup."""

    claim_name: ObjectName
    """Claim in the tenant namespace; mounted read-only into the backup Job."""
    exclude: Annotated[list[PathGlob], Field(max_length=256, json_schema_extra=BY_CLASS)] = (
        list(DEFAULT_DOCUMENT_EXCLUDES))
    """Globs relative to the volume root left out of the archive; by default the
    class's exclusions.paths, else the import/, export/ and tmp/ folders (files, not
    data). Set `[]` to keep all."""


class SecretReference(ApiModel):
    """A Secret outside the tenant namespace."""

    namespace: NamespaceName
    """Namespace of the Secret; must be the operator's own (or one it is allowed to read)."""
    name: ObjectName
    """Name of the Secret."""


class UploadCredentials(StrEnum):
    """What the backup Job in the tenant namespace gets to write with."""

    SCOPED = "Scoped"
    """Session credentials from STS AssumeRole, limited by an inline session policy to
    this exit's folder (`<prefix><exit>-<uid8>/`); the platform's keys stay outside."""
    PLATFORM_KEYS = "PlatformKeys"
    """A copy of the platform's own keys: as wide as their policy (usually the whole
    bucket). Only for a store without STS; see docs/security.md."""
    PRESIGNED = "Presigned"
    """No keys at all: the operator starts every upload of the attempt itself and
    writes only presigned URLs, each good for one request on one object of this
    attempt, topped up while the Job runs. For a store without STS."""


DEFAULT_SESSION_ROLE_ARN = "arn:aws:iam::000000000000:role/tenant-exit-upload"
"""The RoleArn asked for when sessionRoleArn is empty: stores that ignore it (MinIO,
moto) need none; AWS and SeaweedFS need the platform's real role."""


class BucketDestination(ApiModel):
    """An S3-compatible bucket receiving the backup."""

    bucket: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    """Bucket name."""
    prefix: Annotated[str, StringConstraints(pattern=r"^[^/].*$|^$", max_length=512)] = ""
    """Key prefix for every object of this exit (no leading slash)."""
    endpoint: (
        Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2048)] | None
    ) = None
    """Endpoint URL of an S3-compatible store; empty for AWS S3."""
    region: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    """Region of the bucket."""
    credentials_secret: SecretReference
    """Secret with keys `accessKeyId` and `secretAccessKey`. The operator copies these
    two keys into the tenant namespace for the backup Job; they never appear in status,
    events or logs."""


class S3Destination(BucketDestination):
    """An S3-compatible bucket receiving the backup."""

    credentials_secret: SecretReference
    """Secret with keys `accessKeyId` and `secretAccessKey` (the platform's). With
    uploadCredentials Scoped the operator uses them only to ask the store for session
    credentials; with PlatformKeys it copies them into the tenant namespace for the
    backup Job. They never appear in status, events or logs."""
    upload_credentials: UploadCredentials = UploadCredentials.SCOPED
    """Scoped (default): the backup Job gets only session credentials (STS AssumeRole
    with an inline session policy) that can write and read this exit's folder and
    nothing else, renewed by the operator while the Job runs; a store that refuses
    AssumeRole stops the exit with a BackupStartFailed condition. Presigned: the Job
    gets no keys, only presigned URLs for the part uploads, completion and abort of
    each object of its attempt (and nothing that reads, lists or deletes), which the
    operator tops up while the Job runs; for a store without STS. PlatformKeys: the Job
    gets a copy of credentialsSecret's keys, which can reach everything they can
    (usually every exit's backups in the bucket); only for a store with neither, and
    best with a key the platform created for this exit alone (docs/security.md)."""
    session_role_arn: (
        Annotated[str, StringConstraints(pattern=r"^arn:[a-z-]+:iam::[0-9]*:role/.+$",
                                         max_length=2048)] | None
    ) = None
    """With uploadCredentials Scoped: the role credentialsSecret's keys assume for the
    upload session (on AWS a role they may assume; the session policy narrows it to
    the exit's folder). Empty: arn:aws:iam::000000000000:role/tenant-exit-upload, for
    stores that ignore the role (MinIO)."""


AgeRecipient = Annotated[
    str,
    StringConstraints(pattern=AGE_RECIPIENT, max_length=1959),
]


class Encryption(ApiModel):
    """Encryption of every object of the backup; the operator never holds a private key."""

    age_recipients: Annotated[
        list[AgeRecipient],
        Field(
            min_length=1,
            max_length=16,
            json_schema_extra=validations(
                cel(
                    "self.all(r, r.startsWith('age1pq1')) || "
                    "self.all(r, !r.startsWith('age1pq1'))",
                    "ageRecipients mixes post-quantum (age1pq1...) and classical (age1...) "
                    "keys: age refuses to encrypt to both, as the classical key would undo "
                    "the quantum resistance; list only age1pq1 keys (recommended: "
                    "age-keygen -pq) or only classical ones",
                )
            ),
        ),
    ]
    """The customer's age public keys; any one of them can decrypt. Recommended:
    post-quantum keys from `age-keygen -pq` (`age1pq1...`, about 1,960 characters),
    since care records are kept for 20 years and ciphertext stored today must
    withstand a future quantum computer. Classical `age1...` keys are accepted
    (with a Warning Event). The two kinds cannot be mixed."""


class Destination(ApiModel):
    """Where the backup goes."""

    s3: S3Destination | None = None
    """S3-compatible object storage; empty: the TenantExitClass's destination."""
    encryption: Encryption
    """Client-side encryption: health records never leave the cluster in plaintext."""

    @property
    def store(self) -> S3Destination:
        """The bucket, which a backup needs (start_blocked reports an exit without one)."""
        if self.s3 is None:
            raise ValueError("spec.destination.s3 is not set and no TenantExitClass gives a "
                             "destination")
        return self.s3


class Receipt(ApiModel):
    """The customer's confirmation that they received the backup. Final once the exit
    is Deleting; before then it may be corrected or removed (removing it inside the
    grace period cancels the deletion)."""

    confirmed_by: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    """Who confirmed receipt (a name or e-mail address)."""
    manifest_sha256: Sha256Hex
    """SHA-256 of the backup's manifest.json; must equal status.backup.manifestSha256."""


class Language(StrEnum):
    """A language the customer's texts exist in."""

    NL = "nl"
    EN = "en"


class Customer(ApiModel):
    """The receiving care organisation."""

    language: Annotated[Language, Field(json_schema_extra=BY_CLASS)] = Language.EN
    """Default: the class's customerLanguage, else `en`. Language of the texts the
    customer reads: README.txt beside the backup (with the receipt procedure) and the
    summary in the certificate of destruction.
    `nl` (Dutch) or `en` (English). The certificate's JSON keys stay English."""


class Request(ApiModel):
    """The customer's request for this exit, typically a support ticket: the legal
    basis for the deletion. Copied into the manifest, README.txt and the
    certificate of destruction."""

    ticket: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    """Reference of the request, such as the support ticket number."""
    requested_by: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    """Who requested the exit on the customer's behalf (a name or e-mail address)."""
    requested_at: datetime
    """When the request was made (RFC 3339, e.g. `2026-11-30T09:15:00Z`)."""


class Verification(ApiModel):
    """How the backup proves itself before the customer is asked for a receipt."""

    model_config = ConfigDict(json_schema_extra=validations(cel(
        "!has(self.restore) || self.restore != 'Off' || "
        "(has(self.offReason) && size(self.offReason) > 0)",
        "verification.restore: Off needs verification.offReason: the customer deletes "
        "their only other copy on the strength of this backup, and the reason for not "
        "test-loading it is quoted in the manifest and the customer's README",
    )))

    restore: RestoreMode | None = None
    """`Required`, `BestEffort` or `Off`; unset = the platform's default (chart value
    restoreVerification.mode, itself `Required` unless changed). A scratch server of
    the source's family and version in the backup Job's pod loads each schema's dump
    while it streams, and every table's row count and content digest and every
    definition are compared with the source. This proves the archive loads into a
    database server; it does not make the backup able to restore the application.
    `Required`: no AwaitingReceipt without that proof (a source larger than the
    scratch limit stalls). `BestEffort`: RestoreVerified=Unknown when the proof is
    impossible (TooLarge, NoScratchImage). `Off`: no proof; needs offReason."""
    off_reason: Annotated[str, StringConstraints(max_length=1024)] | None = None
    """Why the archive is not test-loaded (required with restore: Off). Recorded in
    the manifest and quoted in the customer's README."""


def restore_mode(spec: TenantExitSpec, default: RestoreMode) -> RestoreMode:
    """The effective restore verification mode: the spec's, else the platform's."""
    chosen = spec.verification.restore if spec.verification is not None else None
    return chosen or default


class Deletion(ApiModel):
    """The irreversible step after receipt."""

    grace_period: Annotated[GoDuration, Field(json_schema_extra={**validations(cel(
        "duration(self) > duration('0s')",
        "deletion.gracePeriod must be longer than 0s: it is the customer's last chance to "
        "withdraw the receipt before the irreversible deletion",
    )), **BY_CLASS})] = "72h"
    """Time between confirmed receipt and deletion of the tenant (Go duration, `72h`);
    default: the class's deletion.defaultGracePeriod, else 72h, and never shorter than
    the class's deletion.minimumGracePeriod.
    Until it has passed, removing spec.receipt cancels the deletion."""
    drop_databases: bool = False
    """Also drop the schemas of spec.database on the database server: for a server
    outside the tenant namespace (one inside goes with the namespace and its
    volumes). Uses database.credentialsSecret, which then needs DROP."""


SPEC_RULES = validations(
    cel("!has(self.receipt) || has(self.destination)", "receipt requires a destination"),
    # Issue 10, scenario 7: an empty list means "every schema the account sees"; on a
    # shared server outside the tenant namespace that is other tenants' records.
    cel(
        "(has(self.database.databases) && size(self.database.databases) > 0) || "
        "self.database.host.endsWith('.' + self.tenantNamespace) || "
        "self.database.host.endsWith('.' + self.tenantNamespace + '.svc') || "
        "self.database.host.endsWith('.' + self.tenantNamespace + '.svc.cluster.local')",
        "database.databases must name the tenant's schemas when database.host is not a "
        "Service in tenantNamespace: an empty list means every schema the account can see, "
        "which on a shared server includes other tenants' data",
    ),
    cel(
        "!has(self.deletion) || !has(self.deletion.dropDatabases) || "
        "!self.deletion.dropDatabases || "
        "(has(self.database.databases) && size(self.database.databases) > 0)",
        "deletion.dropDatabases needs database.databases to name the schemas to drop",
    ),
)


class TenantExitSpec(ApiModel):
    """The tenant and the terms of its exit."""

    model_config = ConfigDict(json_schema_extra=SPEC_RULES)

    def freeze_mode(self) -> DatabaseReadOnlyMode:
        """How writes are frozen before the backup: RevokeWrites unless readOnly says
        otherwise (issue 10: never a dump of a database that can still be written)."""
        return self.read_only.database if self.read_only else DatabaseReadOnlyMode.REVOKE_WRITES

    def freeze_acknowledgement(self) -> str | None:
        """The acknowledgement of an unfrozen database (readOnly.database: None)."""
        if self.read_only is None or self.read_only.database is not DatabaseReadOnlyMode.NONE:
            return None
        return self.read_only.writes_not_frozen_acknowledgement

    tenant_namespace: Annotated[
        NamespaceName,
        Field(
            json_schema_extra=validations(
                cel(
                    "self == oldSelf",
                    "tenantNamespace is immutable; create a new TenantExit instead",
                ),
                cel(
                    "self != 'default' && !self.startsWith('kube-')",
                    "tenantNamespace must not be a protected namespace (default, kube-*)",
                ),
            )
        ),
    ]
    """The tenant's Namespace. Immutable."""
    class_name: Annotated[ObjectName, Field(json_schema_extra=validations(cel(
        "self == oldSelf", "className is immutable; create a new TenantExit instead",
    )))] | None = None
    """The TenantExitClass whose defaults and limits apply; empty: the class annotated
    `tenantexit.io/is-default-class: "true"`, if any. Its terms are recorded in
    status.policy when the exit starts; later edits of the class do not change it."""
    customer: Annotated[Customer, Field(json_schema_extra=BY_CLASS)] = Customer()
    """The receiving customer: the language of the texts they read."""
    request: Request | None = None
    """The customer's request for the exit, kept on record as the basis of the deletion."""
    read_only: ReadOnly | None = None
    """The optional read-only licence period. Without it the backup starts at once."""
    database: Database
    """The tenant's database."""
    documents: Annotated[
        list[DocumentVolume],
        Field(
            max_length=32,
            json_schema_extra={
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["claimName"],
            },
        ),
    ] = []
    """Volumes with client documents."""
    destination: Destination | None = None
    """Where the backup goes; required before the backup can start."""
    receipt: Receipt | None = None
    """Set when the customer confirms receipt of the backup; starts the deletion clock."""
    deletion: Annotated[Deletion, Field(json_schema_extra=BY_CLASS)] = Deletion()
    """Terms of the deletion after receipt."""
    verification: Verification | None = None
    """How the backup is proven before receipt (restore verification); unset = the
    platform's default mode."""

