"""Re-reading the receipted archive just before the deletion (issue 10, item 6).

The customer confirmed receipt of one manifest (by its SHA-256) days or weeks
ago. Before anything of the tenant is destroyed the operator reads that manifest
again, hashes it, and HEADs every object it lists: the deletion goes ahead only
while the archive in the bucket is still the one the customer confirmed.

This module only reads and reports what it saw (`ArchiveReading`); whether that
is good enough is decided purely in `phases/archive.py`. Messages name bucket and
key, never a credential or a presigned URL (`describe_error` strips queries).

Versioned buckets: when the backup recorded version ids, the exact versions are
read, and the key's current version is compared with them as well, so an
overwrite (which in a versioned bucket keeps the old bytes under an older
version id) is reported too: the links and the certificate name the key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from tenant_exit.storage.manifest import Manifest
from tenant_exit.storage.multipart import describe_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_GONE = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})


@dataclass(frozen=True)
class ObjectReading:
    """One object the manifest lists, as HEAD saw it."""

    key: str
    expected_size: int
    """Stored bytes the manifest records."""
    size: int | None
    """Stored bytes now (the recorded version when there is one); None: not there."""
    expected_version: str | None = None
    """Version id the backup recorded (versioned buckets), else None."""
    current_version: str | None = None
    """The key's current version id (read only when a version was recorded)."""


@dataclass(frozen=True)
class ArchiveReading:
    """What the store answered, plain facts; `unreachable` set means no verdict."""

    bucket: str
    manifest_key: str
    manifest_sha256: str | None
    """SHA-256 of the manifest's bytes now; None: the manifest (version) is gone."""
    manifest_version: str | None = None
    """The version id read (the recorded one, or the current one when none was)."""
    manifest_current_version: str | None = None
    """The key's current version id, when a version was recorded."""
    objects: tuple[ObjectReading, ...] = ()
    """Every object the manifest lists; read only when the manifest's digest is
    the expected one (another manifest's list proves nothing)."""
    unreachable: str | None = None
    """Why the store could not be read (5xx, timeout, refused connection)."""


class _Unreachable(Exception):
    pass


def read_archive(client: S3Client, bucket: str, manifest_key: str, *, expected_sha256: str,
                 manifest_version: str | None = None) -> ArchiveReading:
    """GET the manifest (its recorded version if any), then HEAD every object."""
    try:
        data, version = _get(client, bucket, manifest_key, manifest_version)
        if data is None:
            return ArchiveReading(bucket, manifest_key, None)
        digest = hashlib.sha256(data).hexdigest()
        current = (_current_version(client, bucket, manifest_key)
                   if manifest_version is not None else None)
        if digest != expected_sha256:
            return ArchiveReading(bucket, manifest_key, digest, version, current)
        manifest = Manifest.from_bytes(data)
        objects = tuple(_head(client, bucket, obj.key, obj.size, obj.version_id)
                        for obj in manifest.objects)
    except _Unreachable as error:
        return ArchiveReading(bucket, manifest_key, None, unreachable=str(error))
    return ArchiveReading(bucket, manifest_key, digest, version, current, objects)


def _get(client: S3Client, bucket: str, key: str,
         version: str | None) -> tuple[bytes | None, str | None]:
    args: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version is not None:
        args["VersionId"] = version
    try:
        response = client.get_object(**args)
        return response["Body"].read(), response.get("VersionId", version)
    except ClientError as error:
        if _code(error) in _GONE:
            return None, None
        raise _Unreachable(_where(bucket, key, error)) from None
    except BotoCoreError as error:
        raise _Unreachable(_where(bucket, key, error)) from None


def _head(client: S3Client, bucket: str, key: str, expected_size: int,
          version: str | None) -> ObjectReading:
    args: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version is not None:
        args["VersionId"] = version
    try:
        size: int | None = client.head_object(**args)["ContentLength"]
    except ClientError as error:
        if _code(error) not in _GONE:
            raise _Unreachable(_where(bucket, key, error)) from None
        size = None
    except BotoCoreError as error:
        raise _Unreachable(_where(bucket, key, error)) from None
    current = _current_version(client, bucket, key) if version is not None else None
    return ObjectReading(key, expected_size, size, version, current)


def _current_version(client: S3Client, bucket: str, key: str) -> str | None:
    try:
        return client.head_object(Bucket=bucket, Key=key).get("VersionId")
    except ClientError as error:
        if _code(error) in _GONE:
            return None  # only a delete marker (or nothing) is current now
        raise _Unreachable(_where(bucket, key, error)) from None
    except BotoCoreError as error:
        raise _Unreachable(_where(bucket, key, error)) from None


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _where(bucket: str, key: str, error: BaseException) -> str:
    return f"s3://{bucket}/{key}: {describe_error(error)}"
