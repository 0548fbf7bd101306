"""Objects of a run: streamed through the existing multipart upload, optionally
through the worker's age stage.

`open_object` yields a file-like sink for pyarrow. Plain: sink -> multipart
upload. Encrypted: sink -> `age` process (the same argv the backup worker
pipes through, see worker/pipeline.py for why a process and not pyrage) ->
a reader thread -> multipart upload. The upload is completed only when the
writer and age both finished cleanly; any failure aborts it, so a broken
stream never becomes an object.
"""

from __future__ import annotations

import hashlib
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenant_exit.extraction.parquet import CountingSink
from tenant_exit.storage.multipart import MultipartUpload
from tenant_exit.worker.pipeline import age_argv
from tenant_exit.worker.processes import read_chunks, spawn, stop

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass
class StoredFile:
    key: str
    bytes: int = 0
    sha256: str = ""
    """SHA-256 of the stored bytes (the ciphertext when encrypted)."""
    plaintext_bytes: int = 0
    plaintext_sha256: str = ""


class EncryptionFailed(RuntimeError):
    pass


class _AgeReader(threading.Thread):
    def __init__(self, proc: subprocess.Popen[bytes], upload: MultipartUpload) -> None:
        super().__init__(name="age-reader", daemon=True)
        self._proc = proc
        self._upload = upload
        self.hasher = hashlib.sha256()
        self.size = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        assert self._proc.stdout is not None
        try:
            for chunk in read_chunks(self._proc.stdout.fileno()):
                self.hasher.update(chunk)
                self.size += len(chunk)
                self._upload.write(chunk)
        except BaseException as err:  # re-raised by the writer's thread
            self.error = err


@contextmanager
def open_object(client: S3Client, bucket: str, key: str, *, recipients: list[str],
                content_type: str, part_size: int = 8 << 20) -> Iterator[tuple[CountingSink,
                                                                                  StoredFile]]:
    """Yield (sink, record); the record is filled in when the block ends without error."""
    record = StoredFile(key=key)
    with MultipartUpload(client, bucket, key, part_size=part_size,
                         content_type=content_type) as upload:
        if not recipients:
            sink = CountingSink(upload)
            yield sink, record
            upload.complete()
            record.bytes = record.plaintext_bytes = sink.size
            record.sha256 = record.plaintext_sha256 = sink.sha256
            return
        age, age_err = spawn(age_argv(recipients), stdin=subprocess.PIPE)
        assert age.stdin is not None
        reader = _AgeReader(age, upload)
        reader.start()
        stdin = age.stdin
        try:
            sink = CountingSink(stdin)
            yield sink, record
            stdin.close()
            reader.join()
            if reader.error is not None:
                raise reader.error
            if age.wait() != 0:
                raise EncryptionFailed(f"{key}: age exited with {age.returncode}: "
                                       f"{age_err.text().strip()[-300:]}")
        except BaseException:
            stop(age)
            reader.join(10)
            raise
        upload.complete()
        record.bytes, record.sha256 = reader.size, reader.hasher.hexdigest()
        record.plaintext_bytes, record.plaintext_sha256 = sink.size, sink.sha256


def put_small(client: S3Client, bucket: str, key: str, data: bytes,
              content_type: str) -> StoredFile:
    """A small plaintext object (docs, manifest) in one request."""
    client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    digest = hashlib.sha256(data).hexdigest()
    return StoredFile(key=key, bytes=len(data), sha256=digest, plaintext_bytes=len(data),
                      plaintext_sha256=digest)
