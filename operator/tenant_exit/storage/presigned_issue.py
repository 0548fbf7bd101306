"""Presigned part uploads, the operator's side (uploadCredentials Presigned).

For a store without STS the tenant namespace gets no keys at all. The operator,
with the platform's keys and in its own process, starts a multipart upload for
every object the attempt writes (with the Object Lock retention when the bucket
has it) and presigns, per object, UploadPart for a window of part numbers plus
CompleteMultipartUpload and AbortMultipartUpload. Each URL is good for that one
request on that one object until it expires: nothing here can read, list or
delete, and no other key can be reached (the key, the upload id and the part
number are in the signature).

A re-issue (the window runs low, or the URLs near their expiry) keeps the
uploads and re-presigns each window from the part after the highest one the
store has (ListParts), so a worker never loses a part it uploaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from tenant_exit.storage.manifest import RetentionRecord
from tenant_exit.storage.multipart import MAX_PARTS, UploadError, describe_error
from tenant_exit.storage.presigned_file import ObjectUrls, PresignedUploads

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SECRET_BUDGET = 700 * 1024
"""Bytes of URLs the Secret may hold: Kubernetes refuses a Secret whose data exceed
1 MiB; the rest is room for the JSON around the URLs and for the estimate (one
sample URL stands for all). Measured: 20 objects with AWS-length upload ids, 63
parts each, make a 722 kB file."""
MIN_WINDOW = 4
IN_FLIGHT_SLACK = 16
"""Part URLs a top-up re-signs below the highest part the store has (the worker
uploads at most 16 parts at once)."""


class TooManyObjects(UploadError):
    """The attempt's URLs cannot fit one Secret, even with the smallest window."""


def window_for(objects: int, url_length: int, wanted: int) -> int:
    """Parts per object that fit the Secret's budget (with each object's complete and
    abort URLs), at most `wanted`; TooManyObjects below MIN_WINDOW (pure)."""
    fits = SECRET_BUDGET // (max(objects, 1) * max(url_length, 1)) - 2
    if fits < MIN_WINDOW:
        raise TooManyObjects(
            f"the presigned URLs of {objects} objects do not fit one Secret (1 MiB) even "
            f"with {MIN_WINDOW} parts each; use uploadCredentials Scoped, or PlatformKeys "
            "with a key for this exit alone (docs/security.md)")
    return min(wanted, fits)


def highest_part(client: S3Client, bucket: str, key: str, upload_id: str) -> int | None:
    """The highest part number the store holds for the upload (0: none yet); None
    when the upload is no longer there (completed or aborted)."""
    highest = 0
    marker = 0
    try:
        while True:
            page = client.list_parts(Bucket=bucket, Key=key, UploadId=upload_id,
                                     PartNumberMarker=marker)
            for part in page.get("Parts", []):
                highest = max(highest, int(part["PartNumber"]))
            if not page.get("IsTruncated"):
                return highest
            marker = int(page.get("NextPartNumberMarker", highest))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchUpload", "404"):
            return None
        raise


def _presign(client: S3Client, operation: str, params: Mapping[str, Any], seconds: int,
             method: str) -> str:
    url: str = client.generate_presigned_url(operation, Params=dict(params),
                                             ExpiresIn=seconds, HttpMethod=method)
    return url


def presign_object(client: S3Client, bucket: str, key: str, upload_id: str, content_type: str,
                   first: int, count: int, seconds: int) -> ObjectUrls:
    """UploadPart for parts first..first+count-1, CompleteMultipartUpload and
    AbortMultipartUpload of one upload. Local: presigning sends no request."""
    ids = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
    last = min(first + count - 1, MAX_PARTS)
    return ObjectUrls(
        key=key, upload_id=upload_id, content_type=content_type, first_part=first,
        parts=tuple(_presign(client, "upload_part", {**ids, "PartNumber": n}, seconds, "PUT")
                    for n in range(first, last + 1)),
        complete=_presign(client, "complete_multipart_upload", ids, seconds, "POST"),
        abort=_presign(client, "abort_multipart_upload", ids, seconds, "DELETE"))


def start_upload(client: S3Client, bucket: str, key: str, content_type: str,
                 retention: RetentionRecord | None) -> str:
    """CreateMultipartUpload with the platform's keys; the upload id."""
    extra: dict[str, Any] = {}
    if retention is not None:
        extra = {"ObjectLockMode": retention.mode,
                 "ObjectLockRetainUntilDate": retention.retain_until}
    try:
        created = client.create_multipart_upload(Bucket=bucket, Key=key,
                                                 ContentType=content_type, **extra)
    except (ClientError, BotoCoreError) as error:
        raise UploadError(f"cannot start the upload of s3://{bucket}/{key}: "
                          f"{describe_error(error)}") from error
    return created["UploadId"]


def issue(client: S3Client, *, bucket: str, attempt: int, objects: Sequence[tuple[str, str]],
          previous: PresignedUploads | None, window: int, seconds: int, part_size_mib: int,
          retention: RetentionRecord | None, now: datetime) -> PresignedUploads:
    """The presigned uploads of `attempt`'s `objects` ((key, content type)): new
    uploads for objects `previous` (the Secret's current file) does not hold for
    this attempt and bucket, a fresh window from the store's highest part on for
    those it does."""
    same = previous if (previous is not None and previous.attempt == attempt
                        and previous.bucket == bucket) else None
    if same is not None:
        retention = same.retention  # the uploads were started with it
    sample = 3 + len(_presign(client, "upload_part", {  # 3: the JSON's quotes and comma
        "Bucket": bucket, "Key": objects[0][0] if objects else "x", "UploadId": "u" * 128,
        "PartNumber": MAX_PARTS}, seconds, "PUT"))
    count = window_for(len(objects), sample, window)
    uploads: dict[str, ObjectUrls] = {}
    for key, content_type in objects:
        known = same.uploads.get(key) if same is not None else None
        if known is None:
            upload_id = start_upload(client, bucket, key, content_type, retention)
            first = 1
        else:
            upload_id, content_type = known.upload_id, known.content_type
            try:
                highest = highest_part(client, bucket, key, upload_id)
            except (ClientError, BotoCoreError) as error:
                raise UploadError(f"cannot list the parts of s3://{bucket}/{key}: "
                                  f"{describe_error(error)}") from error
            # Gone (completed or aborted): its window no longer matters. Otherwise from
            # a little below the highest part on: parts finish out of order, and one
            # still in flight below it may need its URL again (a retry).
            first = known.first_part if highest is None else max(
                known.first_part, highest + 1 - min(IN_FLIGHT_SLACK, count // 4))
        uploads[key] = presign_object(client, bucket, key, upload_id, content_type,
                                      min(first, MAX_PARTS), count, seconds)
    return PresignedUploads(bucket=bucket, attempt=attempt, issued_at=now,
                            expires_at=now + timedelta(seconds=seconds),
                            part_size_mib=part_size_mib, retention=retention, uploads=uploads)


def unfinished(client: S3Client, bucket: str, prefix: str) -> int:
    """How many unfinished uploads there are under `prefix` (one page is enough to
    tell that some are)."""
    page = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    return len(page.get("Uploads", []))
