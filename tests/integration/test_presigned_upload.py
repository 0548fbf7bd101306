"""Presigned part uploads (uploadCredentials Presigned) against the real S3 server:
the operator's side starts the uploads and presigns windows with the platform's
keys; the worker's side writes with nothing but the URLs in the mounted file.
Only the whole-worker test touches a database (both families)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyrage
import pytest

from tenant_exit.storage.manifest import RetentionRecord, read_manifest, verify_backup
from tenant_exit.storage.multipart import MIN_PART_SIZE, UploadError
from tenant_exit.storage.object_lock import LockMode, Retention, ensure_retention, whole_second
from tenant_exit.storage.presigned_file import FILE_NAME, parse, render
from tenant_exit.storage.presigned_issue import highest_part, issue
from tenant_exit.storage.presigned_upload import (
    PresignedMultipartUpload,
    PresignedSource,
    http_pool,
    put_small,
)
from tenant_exit.worker.layout import database_key, dictionary_key, documents_key
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import seed_tenant
from tests.support.backups import run_worker, worker_env

KEY = "exits/e-0a1b2c3d/attempt-1/database-x.sql.zst.age"
MANIFEST = "exits/e-0a1b2c3d/attempt-1/manifest.json"


def write_file(directory: Path, text: str) -> None:
    # As kubelet does: the new content appears at once, never half-written.
    tmp = directory / f".{FILE_NAME}.tmp"
    tmp.write_text(text)
    tmp.replace(directory / FILE_NAME)


def issue_to(directory: Path, s3_server: S3Server, bucket: str, *, window: int,
             previous: str | None = None, seconds: int = 900) -> str:
    plan = issue(s3_server.client(), bucket=bucket, attempt=1,
                 objects=[(KEY, "application/octet-stream"), (MANIFEST, "application/json")],
                 previous=parse(previous) if previous else None, window=window,
                 seconds=seconds, part_size_mib=5, retention=None, now=datetime.now(UTC))
    text = render(plan)
    write_file(directory, text)
    return text


def parts(n: int) -> list[bytes]:
    return [os.urandom(MIN_PART_SIZE) for _ in range(n)]


def test_a_multipart_object_completes_with_the_right_bytes(
        s3_server: S3Server, fresh_bucket: str, tmp_path: Path) -> None:
    issue_to(tmp_path, s3_server, fresh_bucket, window=8)
    source = PresignedSource(tmp_path, fresh_bucket, wait_seconds=5, poll_seconds=0.2)
    data = [*parts(3), b"the tail"]
    with PresignedMultipartUpload(source, http_pool(), KEY, part_size=MIN_PART_SIZE) as upload:
        for chunk in data:
            upload.write(chunk)
        upload.complete()
    put_small(source, http_pool(), MANIFEST, b'{"format": 1}')
    client = s3_server.client()
    stored = client.get_object(Bucket=fresh_bucket, Key=KEY)
    assert hashlib.sha256(stored["Body"].read()).digest() == hashlib.sha256(
        b"".join(data)).digest()
    assert stored["ETag"].strip('"').endswith("-4")
    assert client.get_object(Bucket=fresh_bucket, Key=MANIFEST)["Body"].read() == \
        b'{"format": 1}'
    assert upload.bytes_written == len(b"".join(data))
    assert client.list_multipart_uploads(Bucket=fresh_bucket).get("Uploads", []) == []


def test_a_window_that_runs_out_waits_for_the_rewrite_and_goes_on(
        s3_server: S3Server, fresh_bucket: str, tmp_path: Path) -> None:
    first = issue_to(tmp_path, s3_server, fresh_bucket, window=4)
    assert [u.last_part for u in parse(first).uploads.values()] == [4, 4]
    source = PresignedSource(tmp_path, fresh_bucket, wait_seconds=30, poll_seconds=0.2)
    data = parts(6)
    client = s3_server.client()
    upload_id = parse(first).uploads[KEY].upload_id

    def top_up() -> None:
        # The operator's top-up: once the store holds part 4, a window from part 5 on.
        deadline = time.monotonic() + 20
        while (highest_part(client, fresh_bucket, KEY, upload_id) or 0) < 4:
            assert time.monotonic() < deadline, "the worker never reached the window's end"
            time.sleep(0.2)
        time.sleep(1)  # the worker is now waiting for part 5's URL
        issue_to(tmp_path, s3_server, fresh_bucket, window=4, previous=first)

    operator = threading.Thread(target=top_up)
    operator.start()
    with PresignedMultipartUpload(source, http_pool(), KEY, part_size=MIN_PART_SIZE,
                                  max_in_flight=1) as upload:
        for chunk in data:
            upload.write(chunk)
        upload.complete()
    operator.join()
    topped = parse((tmp_path / FILE_NAME).read_text()).uploads[KEY]
    # The same upload; from one part below the store's highest (a quarter window of
    # slack for parts still in flight) on.
    assert (topped.upload_id, topped.first_part, topped.last_part) == (upload_id, 4, 7)
    stored = client.get_object(Bucket=fresh_bucket, Key=KEY)["Body"].read()
    assert stored == b"".join(data)


def test_a_window_never_topped_up_fails_clearly_and_names_no_url(
        s3_server: S3Server, fresh_bucket: str, tmp_path: Path) -> None:
    text = issue_to(tmp_path, s3_server, fresh_bucket, window=4)
    source = PresignedSource(tmp_path, fresh_bucket, wait_seconds=1.5, poll_seconds=0.2)
    with pytest.raises(UploadError) as failure:
        with PresignedMultipartUpload(source, http_pool(), KEY, part_size=MIN_PART_SIZE,
                                      max_in_flight=1) as upload:
            for chunk in parts(6):
                upload.write(chunk)
            upload.complete()
    message = str(failure.value)
    assert message == (
        f"no presigned URL for part 5 of s3://{fresh_bucket}/{KEY}: it is beyond the "
        "presigned window, and the operator did not top up the upload Secret within 2s "
        "(is the operator running?)"), message
    for url in [*parse(text).uploads[KEY].parts, parse(text).uploads[KEY].complete]:
        assert url.split("?", 1)[1] not in message and "X-Amz" not in message
    # The failed upload aborted itself: no parts are left in the store.
    assert s3_server.client().list_multipart_uploads(
        Bucket=fresh_bucket, Prefix=KEY).get("Uploads", []) == []


def test_abort_leaves_no_parts(s3_server: S3Server, fresh_bucket: str,
                               tmp_path: Path) -> None:
    text = issue_to(tmp_path, s3_server, fresh_bucket, window=8)
    source = PresignedSource(tmp_path, fresh_bucket, wait_seconds=5, poll_seconds=0.2)
    upload = PresignedMultipartUpload(source, http_pool(), KEY, part_size=MIN_PART_SIZE)
    upload.start()
    for chunk in parts(2):
        upload.write(chunk)
    upload_id = parse(text).uploads[KEY].upload_id
    client = s3_server.client()
    deadline = time.monotonic() + 20
    while (highest_part(client, fresh_bucket, KEY, upload_id) or 0) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert upload.abort() is True
    assert highest_part(client, fresh_bucket, KEY, upload_id) is None
    uploads = client.list_multipart_uploads(Bucket=fresh_bucket).get("Uploads", [])
    assert KEY not in [u["Key"] for u in uploads]


def test_expired_urls_are_not_used(s3_server: S3Server, fresh_bucket: str,
                                   tmp_path: Path) -> None:
    """URLs within a minute of their expiry count as missing: the worker waits for
    fresh ones rather than starting a request that may outlast its signature."""
    issue_to(tmp_path, s3_server, fresh_bucket, window=8, seconds=30)
    source = PresignedSource(tmp_path, fresh_bucket, wait_seconds=1, poll_seconds=0.2)
    with pytest.raises(UploadError, match="its presigned URLs expired"):
        put_small(source, http_pool(), MANIFEST, b"{}")


def test_the_worker_writes_a_whole_backup_with_presigned_urls_alone(
        db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str,
        tmp_path: Path) -> None:
    """The backup worker as the Job runs it, with no key in its environment or its
    mounted directory, into a bucket with Object Lock: every object and the manifest
    arrive through the URLs, the manifest records the retention the operator's
    uploads were started with, and the operator's keys confirm it afterwards."""
    bucket = f"presigned-{uuid.uuid4().hex[:12]}"
    platform = s3_server.client()
    platform.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True,
                           CreateBucketConfiguration={"LocationConstraint": s3_server.region})  # type: ignore[typeddict-item]
    docs = tmp_path / "documents"
    seed_tenant(db_server, fresh_schema, clients=5, documents_dir=docs, files=3, seed=5)
    prefix = "exits/presigned/attempt-1/"
    octet = "application/octet-stream"
    until = whole_second(datetime.now(UTC) + timedelta(hours=2))
    retention = RetentionRecord(mode="COMPLIANCE", retain_until=until)
    plan = issue(platform, bucket=bucket, attempt=1, objects=[
        (database_key(prefix, fresh_schema), octet), (documents_key(prefix, "docs"), octet),
        (dictionary_key(prefix, "json"), octet), (dictionary_key(prefix, "md"), octet),
        (f"{prefix}manifest.json", "application/json")], previous=None, window=8,
        seconds=900, part_size_mib=5, retention=retention, now=datetime.now(UTC))
    mounted = tmp_path / "upload-credentials"
    mounted.mkdir()
    write_file(mounted, render(plan))
    termination = tmp_path / "termination-log"
    env = worker_env(db=db_server, s3=s3_server, bucket=bucket, exit_name="presigned",
                     recipients=[str(pyrage.x25519.Identity.generate().to_public())],
                     termination_log=termination, databases=[fresh_schema],
                     documents=[{"name": "docs", "path": str(docs)}],
                     TENANT_EXIT_S3_UPLOAD_CREDENTIALS="Presigned",
                     TENANT_EXIT_S3_CREDENTIALS_DIR=str(mounted))
    env = {k: v for k, v in env.items() if not k.startswith("AWS_")}  # no key at all
    result = run_worker(env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "X-Amz" not in result.stderr and "X-Amz" not in termination.read_text()
    key = json.loads(termination.read_text())["manifestKey"]
    assert key == f"{prefix}manifest.json"

    report = verify_backup(platform, bucket, key)
    assert report.ok, report.summary()
    manifest, _ = read_manifest(platform, bucket, key)
    assert manifest.retention == retention
    assert {o.key for o in manifest.objects} | {key} == set(plan.uploads)
    # What the worker could not do without a key, the operator does with its own.
    wanted = Retention(LockMode.COMPLIANCE, until)
    for obj in manifest.objects:
        assert ensure_retention(platform, bucket, obj.key, obj.version_id, wanted) >= until
    assert platform.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
