"""The backup's manifest: what was stored, with digests, and how to check it.

`manifest.json` is written LAST and in plaintext: it names objects, counts and
digests — schema and table names, never file names or row data (document file
names can carry a client's name). An exit without a manifest is not complete.
Its SHA-256 is what the customer's receipt quotes, so the exact bytes written
are the contract: `Manifest.to_bytes()` is the one serialisation.

`verify_backup` is what the operator runs after the Job and what a customer runs
(`tenant-exit verify`): every object must exist with the recorded size and
SHA-256 of its stored (encrypted) bytes. Plaintext digests are recorded too, for
whoever holds the age identity and wants to check after decrypting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from tenant_exit.storage.multipart import describe_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FORMAT = "tenant-exit-backup/v1"
MANIFEST_NAME = "manifest.json"
NOT_A_RESTORE_POINT = (
    "This backup is an archive for the legal retention duty (medical records) and for "
    "analysis. It is NOT a restore point: it cannot restore or restart the application. "
    "Logging (audit tables), import/export tables and files, and temporary files are "
    "left out on purpose."
)
HOW_TO_READ = (
    "Each object is compressed with zstd, then encrypted with age to the recipients below. "
    "Read one with: age --decrypt -i <identity file> <object> | zstd -d > <file>. "
    "database-*.sql: SQL dump in the source server's own dialect, by its own family's client "
    "(database.serverFamily: mysql or mariadb); load it with that family's mysql client into "
    "an empty schema of a server of the same family. "
    "documents-*.tar: POSIX pax tar of the document volume. "
    "data-dictionary.*: description of every table and column."
)
_CHUNK = 1 << 20


class _Model(BaseModel):
    # camelCase like the rest of the API; unknown fields are ignored on read so an
    # older `tenant-exit verify` can still check a newer manifest's objects.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              use_attribute_docstrings=True)


class ObjectKind(StrEnum):
    DATABASE = "database"
    DOCUMENTS = "documents"
    DATA_DICTIONARY = "dataDictionary"


class StoredObject(_Model):
    key: str
    """Object key in the bucket."""
    kind: ObjectKind
    name: str
    """Schema name (database), claim name (documents) or format (data dictionary)."""
    content: str
    """What the plaintext is, e.g. `application/sql`."""
    encoding: list[str] = ["zstd", "age"]
    """Transformations applied to the plaintext, in order; undo them in reverse."""
    size: int
    """Stored (encrypted) bytes."""
    sha256: str
    """SHA-256 of the stored bytes: what `verify` checks."""
    plaintext_bytes: int
    plaintext_sha256: str
    version_id: str | None = None
    """The store's version id of these bytes (versioned or Object Lock buckets; None
    in a bucket without versioning): the deletion re-reads exactly this version."""


class TableRows(_Model):
    name: str
    rows: int


class ExcludedTable(_Model):
    name: str
    pattern: str
    """The exclude glob (`schema.table`) that matched."""
    rows: int | None = None
    """Exact rows of the table left out (COUNT(*) while the dump ran; None for a
    view or sequence)."""


class SchemaRecord(_Model):
    name: str
    object_key: str
    tables: list[TableRows]
    """Base tables in the dump with their rows as counted in the dump stream itself:
    the dump's own snapshot (`--single-transaction`), exactly what the archive holds."""
    views: list[str] = []
    routines: list[str] = []
    triggers: list[str] = []
    events: list[str] = []
    excluded_tables: list[ExcludedTable] = []
    character_set: str = ""
    """The schema's default character set (information_schema.SCHEMATA)."""
    collation: str = ""
    """The schema's default collation, e.g. utf8mb4_0900_ai_ci (MySQL 8.0+ only)."""


class DatabaseRecord(_Model):
    server_version: str
    server_family: str = ""
    """`mysql` or `mariadb`, detected from the server's @@version and
    @@version_comment; the dump loads back into a server of this family."""
    server_version_comment: str = ""
    sql_mode: str = ""
    """The server's global sql_mode while it was dumped."""
    gtid_mode: str | None = None
    """MySQL's global gtid_mode (None on MariaDB). The dump has no GTID statements."""
    dump_tool: str
    """The dump client's `--version` line (MySQL's mysqldump or MariaDB's mariadb-dump)."""
    dump_client: str = ""
    """The dump client's program name."""
    dump_options: list[str]
    """mysqldump options used (without host, user or password)."""
    notes: list[str] = []
    """What the worker changed in the dump stream and why (e.g. the removal of
    MariaDB's sandbox line, which MySQL's client rejects)."""
    exclude_patterns: list[str]
    exclusion_reason: str
    schemas: list[SchemaRecord]


class DocumentsRecord(_Model):
    claim: str
    object_key: str
    files: int
    """Regular files in the archive."""
    bytes: int
    """Sum of the regular files' sizes."""
    directories: int = 0
    symlinks: int = 0
    member_list_sha256: str = ""
    """SHA-256 over "<sha256> <size> <path>\\n" of every regular file, in archive
    order, read back from the tar stream (it equalled the volume walk); recompute it
    from the decrypted tar to check every file's content."""
    exclude_patterns: list[str]
    exclusion_reason: str


class Encryption(_Model):
    format: str = "age-encryption.org/v1"
    recipients: list[str]
    """Public keys; any matching identity decrypts every object."""


class Totals(_Model):
    tables: int
    rows: int
    database_bytes: int
    """Plaintext bytes of the SQL dumps."""
    files: int
    document_bytes: int


class RequestRecord(_Model):
    """The customer's request for the exit (spec.request): the basis of the deletion."""

    ticket: str
    """Reference of the request, such as a support ticket number."""
    requested_by: str
    requested_at: datetime


RESTORE_PROOF_NOTE = (
    "A scratch server of the source's family and version loaded each schema's dump as it "
    "was streamed into this archive (the same plaintext whose plaintextSha256 is recorded), "
    "and every table's row count and content digest and every definition were compared with "
    "the source. This proves the archive loads into a database server. It does NOT make the "
    "backup a restore point: the application cannot be restored from it."
)


class TableCheck(_Model):
    schema_name: str
    name: str
    method: str
    """checksum-table (CHECKSUM TABLE) or row-digest (ordered digest of every column)."""
    source_rows: int
    scratch_rows: int
    source_digest: str
    scratch_digest: str
    matches: bool
    seconds: float


class DefinitionCheck(_Model):
    schema_name: str
    kind: str
    """table, view, procedure, function, trigger or event."""
    name: str
    matches: bool


class RestoreVerification(_Model):
    """The restore verification (issue 13): covered by the manifest's digest."""

    mode: str
    """Required, BestEffort or Off (spec.verification.restore or the platform's default)."""
    status: str
    """Verified, Unknown (the proof was impossible: see reason) or Off."""
    reason: str
    """RestoreMatches, TooLarge, NoScratchImage or Off."""
    message: str = ""
    off_reason: str | None = None
    note: str = RESTORE_PROOF_NOTE
    scratch_image: str | None = None
    scratch_family: str | None = None
    scratch_version: str | None = None
    normalisation: str = ""
    """How SHOW CREATE texts were normalised before they were compared."""
    load_seconds: float = 0.0
    compare_seconds: float = 0.0
    tables: list[TableCheck] = []
    definitions: list[DefinitionCheck] = []


class FreezeRecord(_Model):
    """How writes were frozen while the backup was taken."""

    mode: str
    """RevokeWrites, ServerReadOnly (read back in force before the dump started), or
    None (the database stayed writable)."""
    acknowledgement: str | None = None
    """With mode None: who accepted an unfrozen database and why (spec.readOnly
    .writesNotFrozenAcknowledgement), word for word."""


class RetentionRecord(_Model):
    """The S3 Object Lock retention every object and this manifest were written with."""

    mode: str
    """COMPLIANCE (nobody can delete a version before the date) or GOVERNANCE (only an
    identity allowed to bypass governance retention can)."""
    retain_until: datetime
    """Until when. Covers the download links' lifetime plus the grace period; when the
    receipt is accepted the operator lengthens it to cover the grace period from the
    receipt on (status.backup.retention shows the date in force)."""


class Manifest(_Model):
    format: str = FORMAT
    exit_name: str
    exit_uid: str | None = None
    """UID of the TenantExit: a manifest is adopted only by the exit that wrote it."""
    attempt: int
    started_at: datetime
    completed_at: datetime
    notice: str = NOT_A_RESTORE_POINT
    how_to_read: str = HOW_TO_READ
    request: RequestRecord | None = None
    """The request this exit was made on; absent when the exit recorded none."""
    freeze: FreezeRecord | None = None
    """How writes were frozen during the backup (absent in manifests of older workers)."""
    encryption: Encryption
    objects: list[StoredObject]
    database: DatabaseRecord | None = None
    documents: list[DocumentsRecord] = []
    totals: Totals
    tools: dict[str, str] = Field(default_factory=dict)
    """Versions of the worker, mysqldump, tar, zstd and age that produced the backup."""
    verification: RestoreVerification | None = None
    """The restore verification; absent in manifests of workers before it."""
    retention: RetentionRecord | None = None
    """Object Lock retention at upload (None: the bucket has no Object Lock)."""

    def to_bytes(self) -> bytes:
        return (self.model_dump_json(by_alias=True, indent=2) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        return cls.model_validate_json(data)


def manifest_key(object_prefix: str) -> str:
    return f"{object_prefix}{MANIFEST_NAME}"


def beside_manifest(manifest_key: str, name: str) -> str:
    """Key of object `name` in the same folder as the manifest (README, certificate)."""
    folder, _, _ = manifest_key.rpartition("/")
    return f"{folder}/{name}" if folder else name


def read_manifest(client: S3Client, bucket: str, key: str) -> tuple[Manifest, str]:
    """The manifest at `key` and the SHA-256 of its stored bytes."""
    manifest, digest, _ = read_manifest_version(client, bucket, key)
    return manifest, digest


def read_manifest_version(client: S3Client, bucket: str,
                          key: str) -> tuple[Manifest, str, str | None]:
    """`read_manifest` plus the version id of the bytes read (None: no versioning),
    from the same response, so the version is the one that was hashed."""
    response = client.get_object(Bucket=bucket, Key=key)
    data = response["Body"].read()
    version = response.get("VersionId")
    # An unversioned bucket answers "null" on some stores; that names no version.
    return (Manifest.from_bytes(data), hashlib.sha256(data).hexdigest(),
            version if version and version != "null" else None)


# -- verification --------------------------------------------------------
class ObjectCheck(_Model):
    key: str
    ok: bool
    problem: str | None = None
    """Why the object does not match (missing, size, digest); None when it does."""


class VerificationReport(_Model):
    manifest_key: str
    manifest_sha256: str
    checks: list[ObjectCheck]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def problems(self) -> list[str]:
        return [f"{c.key}: {c.problem}" for c in self.checks if not c.ok]

    def summary(self) -> str:
        """One sentence for a status condition: counts and the first problem, no links."""
        bad = [c for c in self.checks if not c.ok]
        if not bad:
            return f"all {len(self.checks)} objects match the manifest"
        return (f"{len(bad)} of {len(self.checks)} objects do not match the manifest; "
                f"first: {bad[0].key}: {bad[0].problem}")


def _digest(chunks: Iterable[bytes]) -> tuple[int, str]:
    hasher = hashlib.sha256()
    size = 0
    for chunk in chunks:
        hasher.update(chunk)
        size += len(chunk)
    return size, hasher.hexdigest()


def _file_chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


def check_object(expected: StoredObject, size: int | None, sha256: str | None) -> ObjectCheck:
    """Pure comparison of one object's observed size/digest with the manifest."""
    if size is None:
        return ObjectCheck(key=expected.key, ok=False, problem="missing")
    if size != expected.size:
        return ObjectCheck(key=expected.key, ok=False,
                           problem=f"size {size} bytes, manifest says {expected.size}")
    if sha256 != expected.sha256:
        return ObjectCheck(key=expected.key, ok=False,
                           problem=f"SHA-256 {sha256}, manifest says {expected.sha256}")
    return ObjectCheck(key=expected.key, ok=True)


def verify_backup(client: S3Client, bucket: str, manifest_key: str) -> VerificationReport:
    """Check every object of the manifest at `manifest_key`: exists, size, stored SHA-256.

    Reads every object once (streamed, 1 MiB at a time). Raises `LookupError` when
    the manifest itself cannot be read — a backup without one is not complete.
    """
    try:
        manifest, digest = read_manifest(client, bucket, manifest_key)
    except (ClientError, BotoCoreError) as err:
        raise LookupError(
            f"cannot read manifest s3://{bucket}/{manifest_key}: {describe_error(err)}"
        ) from err
    return verify_objects(client, bucket, manifest_key, manifest, digest)


def verify_objects(client: S3Client, bucket: str, manifest_key: str, manifest: Manifest,
                   digest: str) -> VerificationReport:
    """`verify_backup` for a manifest the caller has already read."""
    checks: list[ObjectCheck] = []
    for obj in manifest.objects:
        try:
            body = client.get_object(Bucket=bucket, Key=obj.key)["Body"]
            size, sha = _digest(body.iter_chunks(_CHUNK))
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NotFound"):
                checks.append(check_object(obj, None, None))
                continue
            checks.append(ObjectCheck(key=obj.key, ok=False, problem=describe_error(err)))
            continue
        checks.append(check_object(obj, size, sha))
    return VerificationReport(manifest_key=manifest_key, manifest_sha256=digest, checks=checks)


def verify_directory(manifest_path: Path, directory: Path) -> VerificationReport:
    """The same check for downloaded files: each object by its key's last segment."""
    data = manifest_path.read_bytes()
    manifest = Manifest.from_bytes(data)
    checks: list[ObjectCheck] = []
    for obj in manifest.objects:
        path = directory / obj.key.rsplit("/", 1)[-1]
        if not path.is_file():
            checks.append(check_object(obj, None, None))
            continue
        with path.open("rb") as stream:
            size, sha = _digest(_file_chunks(stream))
        checks.append(check_object(obj, size, sha))
    return VerificationReport(manifest_key=str(manifest_path),
                              manifest_sha256=hashlib.sha256(data).hexdigest(), checks=checks)
