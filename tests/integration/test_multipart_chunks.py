"""MultipartUpload against the real S3 server: chunks of any size become parts of
exactly the part size, in order, and the stored object is the bytes written."""

from __future__ import annotations

import hashlib
import os

from tenant_exit.storage.multipart import MIN_PART_SIZE, MultipartUpload
from tests.localcluster.s3server import S3Server


def test_uneven_chunks_become_exact_parts(s3_server: S3Server, fresh_bucket: str) -> None:
    client = s3_server.client()
    # Chunk sizes as pipe reads return them: not aligned to the part size, one larger
    # than a part, one empty.
    sizes = [65536, 3_000_000, 1, 0, MIN_PART_SIZE + 12345, 700_000, 4_000_000, 999]
    chunks = [os.urandom(n) for n in sizes]
    with MultipartUpload(client, fresh_bucket, "obj", part_size=MIN_PART_SIZE) as upload:
        for chunk in chunks:
            upload.write(chunk)
        upload.complete()
    data = b"".join(chunks)
    assert upload.bytes_written == len(data)
    stored = client.get_object(Bucket=fresh_bucket, Key="obj")
    assert hashlib.sha256(stored["Body"].read()).digest() == hashlib.sha256(data).digest()
    parts = -(-len(data) // MIN_PART_SIZE)
    assert stored["ETag"].strip('"').endswith(f"-{parts}")
    first = client.head_object(Bucket=fresh_bucket, Key="obj", PartNumber=1)
    assert first["ContentLength"] == MIN_PART_SIZE
