"""Where the worker's objects go: with keys (a session or the platform's keys) or
through presigned URLs alone (uploadCredentials Presigned). One interface, so the
order of the stages (worker.backup) does not depend on the mode."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from tenant_exit.storage.manifest import RetentionRecord
from tenant_exit.storage.multipart import MultipartUpload, UploadError
from tenant_exit.storage.object_lock import (
    LockMode,
    Retention,
    ensure_retention,
    put_small_object,
)
from tenant_exit.storage.presigned_upload import (
    PresignedMultipartUpload,
    PresignedSource,
    http_pool,
    put_small,
)
from tenant_exit.worker.settings import WorkerSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class Upload(Protocol):
    """What the pipeline writes into and the run completes."""

    version_id: str | None

    def write(self, data: bytes) -> None: ...

    def complete(self) -> None: ...


class ObjectStore(Protocol):
    retention: RetentionRecord | None
    """The Object Lock retention every object is written with (None: none)."""

    def upload(self, key: str) -> AbstractContextManager[Upload]: ...

    def confirm(self, key: str, version_id: str | None) -> None:
        """After an object is complete: its retention is in force."""

    def put_manifest(self, key: str, data: bytes) -> None: ...


def _retention(record: RetentionRecord | None) -> Retention | None:
    return Retention(LockMode(record.mode), record.retain_until) if record else None


class KeyedStore:
    """Requests signed with the mounted keys (Scoped session or PlatformKeys)."""

    def __init__(self, settings: WorkerSettings, client: S3Client) -> None:
        self._s = settings
        self._client = client
        self.retention = settings.object_lock

    def upload(self, key: str) -> MultipartUpload:
        s, retention = self._s, _retention(self.retention)
        return MultipartUpload(self._client, s.s3_bucket, key, part_size=s.part_size_mib << 20,
                               max_in_flight=s.upload_concurrency,
                               create_args=retention.headers() if retention else None)

    def confirm(self, key: str, version_id: str | None) -> None:
        retention = _retention(self.retention)
        if retention is not None:
            ensure_retention(self._client, self._s.s3_bucket, key, version_id, retention)

    def put_manifest(self, key: str, data: bytes) -> None:
        put_small_object(self._client, self._s.s3_bucket, key, data, "application/json",
                         _retention(self.retention))


class PresignedStore:
    """Presigned requests only: the operator started every upload (with the retention,
    which it also confirms after the Job with its own keys)."""

    def __init__(self, settings: WorkerSettings) -> None:
        if settings.s3_credentials_dir is None:
            raise UploadError("uploadCredentials Presigned needs the mounted upload Secret "
                              "(TENANT_EXIT_S3_CREDENTIALS_DIR)")
        self._s = settings
        self._source = PresignedSource(settings.s3_credentials_dir, settings.s3_bucket,
                                       wait_seconds=settings.presigned_wait_seconds)
        self._http = http_pool(settings.s3_max_attempts,
                               connections=settings.upload_concurrency + 2)
        plan = self._source.current()
        self._part_size = plan.part_size_mib << 20
        # What the operator's CreateMultipartUpload asked for, not the Job's variable.
        self.retention = plan.retention

    def upload(self, key: str) -> PresignedMultipartUpload:
        return PresignedMultipartUpload(self._source, self._http, key,
                                        part_size=self._part_size,
                                        max_in_flight=self._s.upload_concurrency)

    def confirm(self, key: str, version_id: str | None) -> None:
        return None  # PutObjectRetention needs a key: the operator's, after the Job

    def put_manifest(self, key: str, data: bytes) -> None:
        put_small(self._source, self._http, key, data)


def object_store(settings: WorkerSettings, client: S3Client | None) -> ObjectStore:
    if settings.presigned:
        return PresignedStore(settings)
    assert client is not None, "uploads with keys need a client"
    return KeyedStore(settings, client)
