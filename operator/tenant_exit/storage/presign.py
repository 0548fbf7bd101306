"""Presigned GET links for every object of a backup, for the customer to download.

A presigned URL is a bearer credential: whoever has it can read the object until
it expires. Callers hand the links to the customer through a channel meant for
secrets (e.g. a Secret the customer's contact can read) and never put them in
status, events, logs or exception messages. Nothing here logs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenant_exit.storage.manifest import Manifest, read_manifest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_EXPIRY_SECONDS = 7 * 24 * 3600
"""SigV4 presigned URLs are valid for at most 7 days."""
MAX_EXPIRY_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class PresignedLink:
    key: str
    url: str
    """Secret: grants read access until expiry."""
    size: int | None
    sha256: str | None

    def __repr__(self) -> str:  # keep the URL out of tracebacks and debug logs
        return f"PresignedLink(key={self.key!r}, url=<redacted>)"


def presign_get(client: S3Client, bucket: str, key: str, expires_in: int) -> str:
    if not 0 < expires_in <= MAX_EXPIRY_SECONDS:
        raise ValueError(f"expiry must be between 1 s and {MAX_EXPIRY_SECONDS} s")
    return client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in)


def presign_backup(client: S3Client, bucket: str, manifest_key: str, *,
                   expires_in: int = DEFAULT_EXPIRY_SECONDS,
                   manifest: Manifest | None = None) -> list[PresignedLink]:
    """Links for the manifest (first) and every object it lists.

    `manifest` may be passed when the caller already read it; otherwise it is read
    from the bucket (signing itself needs no request to the store).
    """
    if manifest is None:
        manifest, _ = read_manifest(client, bucket, manifest_key)
    links = [PresignedLink(key=manifest_key, url=presign_get(client, bucket, manifest_key,
                                                             expires_in), size=None, sha256=None)]
    for obj in manifest.objects:
        links.append(PresignedLink(key=obj.key, url=presign_get(client, bucket, obj.key,
                                                                expires_in),
                                   size=obj.size, sha256=obj.sha256))
    return links
