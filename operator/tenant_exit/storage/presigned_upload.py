"""Presigned part uploads, the worker's side (uploadCredentials Presigned).

The worker holds no key: it PUTs each part to the URL the operator presigned for
that part number (storage.presigned_issue) and POSTs the CompleteMultipartUpload
XML, with plain HTTP. `PresignedMultipartUpload` has the interface of
storage.multipart.MultipartUpload (write / complete / abort, `bytes_written`,
`version_id`), the same part sizes and the same bounded memory, so the pipeline
streams into either.

The operator presigns a window of part numbers per object and tops it up while
the Job runs by rewriting the Secret; kubelet updates the mounted file in place
within about a minute. When the worker needs a part number beyond the window it
has (or its URLs are about to expire) it re-reads the file and, if need be,
waits for the rewrite, bounded; then it fails naming bucket, key and part
number. A URL is a bearer credential: no message here carries one, nor the
query of one.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import urllib3

from tenant_exit.storage.parts import MIN_PART_SIZE, PartedUpload, UploadError
from tenant_exit.storage.presigned_file import (
    FILE_NAME,
    ObjectUrls,
    PresignedFileInvalid,
    PresignedUploads,
    parse,
)

log = logging.getLogger(__name__)

EXPIRY_MARGIN = timedelta(seconds=60)
"""A URL this close to its expiry is not used: the request may outlast it."""
_CODE = re.compile(rb"<Code>([^<]{1,64})</Code>")


class PresignedSource:
    """The mounted presigned file, re-read when a URL is missing or about to expire.
    Thread-safe: part uploads of several threads ask at once."""

    def __init__(self, directory: Path, bucket: str, *, wait_seconds: float = 300.0,
                 poll_seconds: float = 5.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._path = directory / FILE_NAME
        self.bucket = bucket
        self._wait = wait_seconds
        self._poll = poll_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._plan: PresignedUploads | None = None

    def _reread(self) -> PresignedUploads:
        try:
            text = self._path.read_text()
        except FileNotFoundError:
            raise PresignedFileInvalid(f"no {FILE_NAME} in the mounted upload Secret "
                                       f"{self._path.parent}") from None
        plan = parse(text)
        if plan.bucket != self.bucket:
            raise PresignedFileInvalid(f"{FILE_NAME} is for bucket {plan.bucket}, "
                                       f"not {self.bucket}")
        self._plan = plan
        return plan

    def current(self) -> PresignedUploads:
        """The file as last read (read now the first time); UploadError when unusable."""
        with self._lock:
            if self._plan is not None:
                return self._plan
            try:
                return self._reread()
            except PresignedFileInvalid as error:
                raise UploadError(f"cannot upload to s3://{self.bucket}: {error}") from None

    def upload(self, key: str) -> ObjectUrls:
        """The object's upload, or UploadError when the operator presigned none for it."""
        plan = self.current()
        found = plan.uploads.get(key)
        if found is None:
            with self._lock:
                plan = self._reread_quietly() or plan
            found = plan.uploads.get(key)
        if found is None:
            raise UploadError(
                f"no presigned upload for s3://{self.bucket}/{key}: the operator presigned "
                f"{len(plan.uploads)} objects of attempt {plan.attempt}, not this one")
        return found

    def url(self, key: str, pick: Callable[[ObjectUrls], str | None], what: str, *,
            wait: bool = True) -> str:
        """The URL `pick` takes from the object's entry. Missing or about to expire:
        the file is read again at once, then (`wait`) every poll until the wait is over."""
        deadline = time.monotonic() + (self._wait if wait else 0)
        plan = self.current()
        while True:
            found = self._pick(plan, key, pick)
            if found is not None:
                return found
            with self._lock:
                plan = self._reread_quietly() or plan
            found = self._pick(plan, key, pick)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                state = ("its presigned URLs expired" if not self._fresh(plan)
                         else "it is beyond the presigned window")
                raise UploadError(
                    f"no presigned URL for {what} of s3://{self.bucket}/{key}: {state}, and "
                    f"the operator did not top up the upload Secret within "
                    f"{self._wait if wait else 0:.0f}s (is the operator running?)")
            time.sleep(self._poll)

    def _fresh(self, plan: PresignedUploads) -> bool:
        return self._clock() < plan.expires_at - EXPIRY_MARGIN

    def _pick(self, plan: PresignedUploads, key: str,
              pick: Callable[[ObjectUrls], str | None]) -> str | None:
        entry = plan.uploads.get(key)
        if entry is None or not self._fresh(plan):
            return None
        return pick(entry)

    def _reread_quietly(self) -> PresignedUploads | None:
        try:
            return self._reread()
        except (PresignedFileInvalid, OSError) as error:
            # kubelet swaps the files atomically; anything else is a reason to look
            # again, not to fail a part.
            log.warning("cannot read the presigned file yet: %s", error)
            return None


def http_pool(max_attempts: int = 8, connections: int = 8) -> urllib3.PoolManager:
    """HTTP with retries on 5xx and connection errors, like botocore's standard mode.
    POST is retried too: S3 makes CompleteMultipartUpload idempotent."""
    return urllib3.PoolManager(
        num_pools=4, maxsize=connections,
        timeout=urllib3.Timeout(connect=10, read=120),
        retries=urllib3.Retry(total=max_attempts - 1, backoff_factor=0.5,
                              status_forcelist=(500, 502, 503, 504),
                              allowed_methods={"PUT", "POST", "DELETE"},
                              raise_on_status=False, respect_retry_after_header=True))


def _failure(response: urllib3.BaseHTTPResponse) -> str:
    """`Code (HTTP n)` of an S3 error answer; never the request."""
    found = _CODE.search(response.data or b"")
    code = found.group(1).decode(errors="replace") if found else "Error"
    return f"{code} (HTTP {response.status})"


class PresignedMultipartUpload(PartedUpload):
    """One object written through presigned URLs. Not thread-safe: one writer."""

    def __init__(self, source: PresignedSource, http: urllib3.PoolManager, key: str, *,
                 part_size: int = 32 << 20, max_in_flight: int = 2) -> None:
        super().__init__(source.bucket, key, part_size=part_size, max_in_flight=max_in_flight,
                         thread_name="s3-presigned-part")
        self._source = source
        self._http = http
        self._started = False

    def start(self) -> None:
        """The operator started the upload; here only: is there one for this key?"""
        try:
            self._source.upload(self.key)
        except BaseException:
            self._pool.shutdown(wait=False)
            raise
        self._started = True

    def _send_part(self, number: int, data: bytes) -> str:
        where = f"part {number} of s3://{self.bucket}/{self.key}"
        url = self._source.url(self.key, lambda u: u.part_url(number), f"part {number}")
        # Content-MD5 is not in the signature; the store checks the part with it.
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        try:
            response = self._http.request("PUT", url, body=data, headers={"Content-MD5": md5})
        except urllib3.exceptions.HTTPError as error:
            raise UploadError(f"cannot upload {where}: {type(error).__name__}") from None
        etag = response.headers.get("ETag")
        if response.status != 200 or not etag:
            raise UploadError(f"cannot upload {where}: {_failure(response)}")
        return str(etag)

    def _commit(self, parts: list[tuple[int, str]]) -> str | None:
        body = "<CompleteMultipartUpload>" + "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{escape(etag)}</ETag></Part>"
            for n, etag in parts) + "</CompleteMultipartUpload>"
        url = self._source.url(self.key, lambda u: u.complete, "completing the upload")
        where = f"s3://{self.bucket}/{self.key}"
        try:
            response = self._http.request("POST", url, body=body.encode(),
                                          headers={"Content-Type": "application/xml"})
        except urllib3.exceptions.HTTPError as error:
            raise UploadError(f"cannot complete the upload of {where}: "
                              f"{type(error).__name__}") from None
        # S3 may answer 200 and put the error in the body.
        if response.status != 200 or b"<Error>" in (response.data or b"")[:512]:
            raise UploadError(f"cannot complete the upload of {where}: {_failure(response)}")
        version = response.headers.get("x-amz-version-id")
        return str(version) if version else None

    def _abort_upload(self) -> bool:
        """Through the presigned abort. The operator aborts what is left after the Job
        in any case."""
        if not self._started:
            return True
        try:
            # No waiting on a failure path: what is left, the operator aborts after the Job.
            url = self._source.url(self.key, lambda u: u.abort, "aborting the upload",
                                   wait=False)
            response = self._http.request("DELETE", url)
        except (UploadError, urllib3.exceptions.HTTPError) as error:
            log.warning("abort of s3://%s/%s failed: %s", self.bucket, self.key,
                        error if isinstance(error, UploadError) else type(error).__name__)
            return False
        if response.status in (200, 204) or b"NoSuchUpload" in (response.data or b""):
            return True
        log.warning("abort of s3://%s/%s failed: %s", self.bucket, self.key,
                    _failure(response))
        return False


def put_small(source: PresignedSource, http: urllib3.PoolManager, key: str, body: bytes,
              max_in_flight: int = 1) -> str | None:
    """A small object (the manifest) as a one-part presigned upload; its version id."""
    with PresignedMultipartUpload(source, http, key, part_size=max(len(body), MIN_PART_SIZE),
                                  max_in_flight=max_in_flight) as upload:
        upload.write(body)
        upload.complete()
    return upload.version_id
