"""A streaming S3 multipart upload whose memory is bounded by the part size.

Callers `write()` bytes as they come; full parts are uploaded by a small thread
pool while the caller keeps producing, with at most `max_in_flight` parts held
in memory. `complete()` uploads the rest and commits the object; `abort()`
(also run when the `with` block raises) deletes the uploaded parts, so a failed
backup leaves no orphaned parts that the store would keep (and bill) forever.

Part sizes grow with the part number (`part_size_for`): S3 allows at most 10,000
parts per object and every part but the last must be at least 5 MiB, so a fixed
small part size caps the object size, while a fixed large one wastes memory on
small objects. Doubling every 1,000 parts keeps small objects cheap and still
reaches multiple TiB.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from tenant_exit.storage.parts import (
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    PARTS_PER_SIZE_STEP,
    PartedUpload,
    UploadError,
    part_size_for,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

__all__ = ["MAX_PARTS", "MAX_PART_SIZE", "MIN_PART_SIZE", "PARTS_PER_SIZE_STEP",
           "MultipartUpload", "UploadError", "abort_stale_uploads", "describe_error",
           "part_size_for"]

_QUERY = re.compile(r"\?[^\s\"']*")


def describe_error(err: BaseException) -> str:
    """A one-line reason from a boto error that carries no request signature or URL query."""
    if isinstance(err, ClientError):
        info = err.response.get("Error", {})
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"{info.get('Code', 'Error')} (HTTP {status}): {info.get('Message', '')}".strip()
    # botocore messages name the endpoint URL, never credentials; drop any query
    # string anyway (upload ids, and a presigned URL's signature if one got there).
    return f"{type(err).__name__}: {_QUERY.sub('', str(err))}"


class MultipartUpload(PartedUpload):
    """One object being written as a multipart upload with keys. Not thread-safe: one
    writer."""

    def __init__(self, client: S3Client, bucket: str, key: str, *, part_size: int = 8 << 20,
                 max_in_flight: int = 2, content_type: str = "application/octet-stream",
                 create_args: Mapping[str, Any] | None = None) -> None:
        """`create_args`: more CreateMultipartUpload arguments (Object Lock retention)."""
        super().__init__(bucket, key, part_size=part_size, max_in_flight=max_in_flight,
                         thread_name="s3-part")
        self._client = client
        self._create_args = dict(create_args or {})
        self._content_type = content_type
        self._upload_id: str | None = None

    def start(self) -> None:
        try:
            created = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self._content_type,
                **self._create_args)
        except (ClientError, BotoCoreError) as err:
            self._pool.shutdown(wait=False)
            raise UploadError(
                f"cannot start upload of s3://{self.bucket}/{self.key}: {describe_error(err)}"
            ) from err
        self._upload_id = created["UploadId"]

    def _send_part(self, number: int, data: bytes) -> str:
        assert self._upload_id is not None
        try:
            response = self._client.upload_part(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                PartNumber=number, Body=data)
        except (ClientError, BotoCoreError) as err:
            raise UploadError(
                f"cannot upload part {number} of s3://{self.bucket}/{self.key}: "
                f"{describe_error(err)}"
            ) from err
        return response["ETag"]

    def _commit(self, parts: list[tuple[int, str]]) -> str | None:
        assert self._upload_id is not None
        try:
            completed = self._client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                MultipartUpload={"Parts": [
                    {"PartNumber": n, "ETag": etag} for n, etag in parts]},
            )
        except (ClientError, BotoCoreError) as err:
            raise UploadError(
                f"cannot complete upload of s3://{self.bucket}/{self.key}: {describe_error(err)}"
            ) from err
        return completed.get("VersionId")

    def _abort_upload(self, attempts: int = 2) -> bool:
        """Best effort (botocore already retries each call with backoff): a store that
        stays down keeps the parts, and the next attempt's `abort_stale_uploads`
        removes them."""
        if self._upload_id is None:
            return True
        for attempt in range(attempts):
            try:
                self._client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
                return True
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") == "NoSuchUpload":
                    return True
                reason = describe_error(err)
            except BotoCoreError as err:
                reason = describe_error(err)
            log.warning("abort of s3://%s/%s failed (%s), attempt %d/%d",
                        self.bucket, self.key, reason, attempt + 1, attempts)
            time.sleep(min(2.0 ** attempt, 10.0))
        return False


def abort_stale_uploads(client: S3Client, bucket: str, prefixes: Iterable[str]) -> int:
    """Abort every unfinished multipart upload under each of `prefixes`; returns
    how many.

    A worker killed hard (eviction, OOM, node loss) cannot abort its own upload;
    a later run cleans up before it starts. The caller names the prefixes of runs
    known to be over (never a parent of them), so runs that may overlap never
    abort each other's uploads.
    """
    aborted = 0
    paginator = client.get_paginator("list_multipart_uploads")
    for prefix in prefixes:
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"],
                                              UploadId=upload["UploadId"])
                aborted += 1
    return aborted
