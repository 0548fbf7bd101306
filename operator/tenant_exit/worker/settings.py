"""Configuration of the backup worker: one typed object read from the environment.

The operator's Job builder sets exactly these variables (prefix `TENANT_EXIT_`);
list-valued ones are JSON. S3 credentials are NOT here: botocore reads them
from the mounted Secret's files (s3_credentials_dir) or AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY itself, so they never pass through our settings. The
database password is a `SecretStr`: its repr and str are masked, so a logged
settings object shows `**********`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tenant_exit.api import names
from tenant_exit.api.exclusions import DEFAULT_DOCUMENT_EXCLUDES as API_DOCUMENT_EXCLUDES
from tenant_exit.api.exclusions import DEFAULT_EXCLUDE_TABLES as API_EXCLUDE_TABLES
from tenant_exit.api.restore import RestoreMode
from tenant_exit.api.spec import UploadCredentials
from tenant_exit.api.types import AGE_RECIPIENT, is_post_quantum
from tenant_exit.storage.manifest import FreezeRecord, RequestRecord, RetentionRecord

# The spec's defaults: a Job without these variables excludes what the CRD documents.
DEFAULT_EXCLUDE_TABLES = list(API_EXCLUDE_TABLES)
DEFAULT_DOCUMENT_EXCLUDES = list(API_DOCUMENT_EXCLUDES)
_AGE_RECIPIENT = re.compile(AGE_RECIPIENT)


class DocumentSource(BaseModel):
    """One mounted document claim (an item of TENANT_EXIT_DOCUMENTS)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=253)]
    """The claim name; names the object `documents-<name>.tar.zst.age`."""
    path: Path
    """Where the claim is mounted in the worker's container."""
    exclude: list[str] = Field(default_factory=lambda: list(DEFAULT_DOCUMENT_EXCLUDES))
    """Globs relative to the volume root: `*` within a path segment, `**` across
    segments; a pattern without `/` matches a name at any depth."""


class WorkerSettings(BaseSettings):
    """Everything `tenant-exit worker backup` needs, from `TENANT_EXIT_*` variables."""

    model_config = SettingsConfigDict(env_prefix="TENANT_EXIT_", extra="ignore",
                                      use_attribute_docstrings=True)

    exit_name: Annotated[str, Field(min_length=1, max_length=253)]
    """TENANT_EXIT_EXIT_NAME: the TenantExit's name; first segment of every key."""
    exit_uid: Annotated[str, Field(min_length=8)] | None = None
    """TENANT_EXIT_EXIT_UID: the TenantExit's UID; its first characters are in every key
    and the whole UID in the manifest, so a recreated exit never adopts an old backup."""
    attempt: Annotated[int, Field(ge=1)]
    """TENANT_EXIT_ATTEMPT: backup attempt number; keys are per attempt so a retry never
    mixes its objects with those of a failed attempt."""

    db_host: Annotated[str, Field(min_length=1)]
    """TENANT_EXIT_DB_HOST: database server host name."""
    db_port: Annotated[int, Field(ge=1, le=65535)] = 3306
    """TENANT_EXIT_DB_PORT: database server TCP port."""
    db_user: Annotated[str, Field(min_length=1)]
    """TENANT_EXIT_DB_USER: the dump account."""
    db_password: SecretStr
    """TENANT_EXIT_DB_PASSWORD: the dump account's password (from a Secret). Passed to
    mysqldump via MYSQL_PWD in its environment only, never on a command line."""
    db_databases: list[str] = []
    """TENANT_EXIT_DB_DATABASES: JSON list of schemas; empty = every non-system schema."""
    db_exclude_tables: list[str] = Field(default_factory=lambda: list(DEFAULT_EXCLUDE_TABLES))
    """TENANT_EXIT_DB_EXCLUDE_TABLES: JSON list of `schema.table` globs left out of the
    dump (logging, import/export); `*` matches any run of characters."""

    mysql_dump_path: Path | None = None
    """TENANT_EXIT_MYSQL_DUMP_PATH: MySQL's `mysqldump` for MySQL servers; unset = the
    first `mysqldump` on PATH that is MySQL's (not MariaDB's compatibility name)."""
    mariadb_dump_path: Path | None = None
    """TENANT_EXIT_MARIADB_DUMP_PATH: MariaDB's dump client for MariaDB servers; unset =
    `mariadb-dump` (or MariaDB's `mysqldump`) on PATH."""

    documents: list[DocumentSource] = []
    """TENANT_EXIT_DOCUMENTS: JSON list of {"name", "path", "exclude"} per mounted claim."""

    s3_bucket: Annotated[str, Field(min_length=1)]
    """TENANT_EXIT_S3_BUCKET: destination bucket."""
    s3_prefix: str = ""
    """TENANT_EXIT_S3_PREFIX: key prefix; objects go to `<prefix><exit>/attempt-<n>/`
    (a `/` is added after a non-empty prefix that lacks one)."""
    s3_endpoint: str | None = None
    """TENANT_EXIT_S3_ENDPOINT: endpoint URL of an S3-compatible store; unset for AWS."""
    s3_region: str | None = None
    """TENANT_EXIT_S3_REGION: bucket region."""
    s3_credentials_dir: Path | None = None
    """TENANT_EXIT_S3_CREDENTIALS_DIR: the mounted upload Secret (accessKeyId,
    secretAccessKey, sessionToken, expiration), re-read before the session ends so
    the operator's renewal reaches a running Job; unset: AWS_* in the environment."""
    s3_upload_credentials: UploadCredentials = UploadCredentials.SCOPED
    """TENANT_EXIT_S3_UPLOAD_CREDENTIALS: what the mounted upload Secret holds. Presigned:
    no keys, only presigned URLs (presigned.json) for the uploads the operator started;
    the worker then writes through them alone and leaves what needs wider rights
    (adopting an earlier run's manifest, aborting stale uploads, setting retention)
    to the operator."""
    presigned_wait_seconds: Annotated[float, Field(gt=0)] = 300.0
    """TENANT_EXIT_PRESIGNED_WAIT_SECONDS: how long a part beyond the presigned window
    waits for the operator's top-up of the mounted file before the attempt fails."""
    s3_max_attempts: Annotated[int, Field(ge=1, le=20)] = 8
    """TENANT_EXIT_S3_MAX_ATTEMPTS: attempts per S3 request (retries with backoff on
    5xx, throttling and timeouts)."""

    age_recipients: Annotated[list[str], Field(min_length=1)]
    """TENANT_EXIT_AGE_RECIPIENTS: JSON list of the customer's age public keys."""

    request: RequestRecord | None = None
    """TENANT_EXIT_REQUEST: JSON {"ticket", "requestedBy", "requestedAt"} of the
    customer's request (spec.request), copied into the manifest; unset when none."""

    freeze: FreezeRecord | None = None
    """TENANT_EXIT_FREEZE: JSON {"mode", "acknowledgement"}: how the operator froze
    writes before starting this Job (spec.readOnly), copied into the manifest."""

    object_lock: RetentionRecord | None = None
    """TENANT_EXIT_OBJECT_LOCK: JSON {"mode", "retainUntil"}: the Object Lock retention
    every object is written with (set by the operator when the bucket has Object
    Lock); unset: none."""

    termination_log: Path = Path("/dev/termination-log")
    """TENANT_EXIT_TERMINATION_LOG: where the one-line JSON summary goes (the container's
    terminationMessagePath)."""

    part_size_mib: Annotated[int, Field(ge=5, le=1024)] = 16
    """TENANT_EXIT_PART_SIZE_MIB: first multipart part size; memory is about
    (TENANT_EXIT_UPLOAD_CONCURRENCY in flight + 1 filling) x this. 16 rather than 8:
    half the requests, and the documents object of the bench (764 MB stored,
    SeaweedFS) took 7.9-8.3 s instead of 8.6-8.8 s, for ~40 MiB more RSS; 32 was
    no faster."""
    upload_concurrency: Annotated[int, Field(ge=1, le=16)] = 2
    """TENANT_EXIT_UPLOAD_CONCURRENCY: multipart parts uploaded at once per object;
    memory is about (this + 1) x the part size."""
    zstd_level: Annotated[int, Field(ge=1, le=19)] = 1
    """TENANT_EXIT_ZSTD_LEVEL: zstd compression level."""
    zstd_threads: Annotated[int, Field(ge=0, le=64)] = 0
    """TENANT_EXIT_ZSTD_THREADS: zstd's own compression threads (0: compress on the
    pump thread). For nodes with cores to spare: on the 2-core bench machine 2
    threads changed the 1.5 GB dump's wall by less than the noise (20.3-24.1 s
    against 22.0-23.0 s) and added 20-40 MiB of RSS."""
    progress_interval_seconds: Annotated[float, Field(gt=0)] = 10.0
    """TENANT_EXIT_PROGRESS_INTERVAL_SECONDS: seconds between progress lines on stderr."""

    restore_mode: RestoreMode = RestoreMode.OFF
    """TENANT_EXIT_RESTORE_MODE: Required, BestEffort or Off (issue 13)."""
    restore_image: str | None = None
    """TENANT_EXIT_RESTORE_IMAGE: the scratch sidecar's image, for the manifest."""
    restore_socket: Path | None = None
    """TENANT_EXIT_RESTORE_SOCKET: the scratch server's unix socket; unset = no sidecar."""
    restore_skipped: str = ""
    """TENANT_EXIT_RESTORE_SKIPPED: why the operator gave no sidecar (TooLarge,
    NoScratchImage)."""
    restore_max_data_bytes: Annotated[int, Field(ge=0)] = 0
    """TENANT_EXIT_RESTORE_MAX_DATA_BYTES: the platform's limit on the source's data
    and index bytes."""
    restore_off_reason: str | None = None
    """TENANT_EXIT_RESTORE_OFF_REASON: spec.verification.offReason, for the manifest."""
    restore_wait_seconds: Annotated[float, Field(gt=0)] = 300.0
    """TENANT_EXIT_RESTORE_WAIT_SECONDS: how long to wait for the scratch server to
    initialise and accept connections."""

    @field_validator("age_recipients")
    @classmethod
    def _recipients_are_age_keys(cls, value: list[str]) -> list[str]:
        for recipient in value:
            if not _AGE_RECIPIENT.match(recipient):
                # A public key is not secret, but keep the message short.
                raise ValueError(
                    f"not an age recipient (age1... or age1pq1...): {recipient[:12]}...")
        if len({is_post_quantum(r) for r in value}) > 1:
            # age refuses too; say it before anything is dumped.
            raise ValueError("post-quantum (age1pq1...) and classical (age1...) recipients "
                             "cannot be mixed")
        return value

    @field_validator("s3_prefix")
    @classmethod
    def _prefix_ends_with_slash(cls, value: str) -> str:
        return names.key_prefix(value)

    @property
    def presigned(self) -> bool:
        return self.s3_upload_credentials is UploadCredentials.PRESIGNED

    @property
    def object_prefix(self) -> str:
        """`<exit folder>attempt-<n>/`: every object of this attempt lives below it."""
        return self.attempt_prefix(self.attempt)

    def attempt_prefix(self, attempt: int) -> str:
        return names.attempt_folder(self.exit_prefix, attempt)

    @property
    def exit_prefix(self) -> str:
        """`<prefix><exit>-<uid8>/` (`<prefix><exit>/` without a UID): every attempt."""
        if self.exit_uid is None:
            return f"{self.s3_prefix}{self.exit_name}/"
        return names.exit_folder(self.s3_prefix, self.exit_name, self.exit_uid)

    @property
    def ended_attempt_prefixes(self) -> list[str]:
        """This attempt's prefix and its predecessors': the operator starts attempt
        n+1 only after attempt n's Job finished, so nothing else writes there now.
        Never the exit's whole prefix, which a later or parallel run may share."""
        return [self.attempt_prefix(n) for n in range(1, self.attempt + 1)]
