"""Object Lock and versioning against the harness's real S3 server (moto, over HTTP),
with the real worker backing up a real tenant on each database family.

What moto 5 enforces, measured here rather than assumed: a DeleteObject of a locked
version is refused (AccessDenied), in COMPLIANCE mode also with the governance
bypass; an overwrite creates a new version and keeps the locked one. What it does
not: it ignores ObjectLockMode on CreateMultipartUpload (hence the worker's read-back
and PutObjectRetention, storage/object_lock.py), fails GetObjectRetention with a 500
(hence HEAD), and lets a COMPLIANCE retention be shortened (AWS refuses that).

Locked buckets cannot be emptied before their retention ends: they are left in the
session's moto server, whose state lives in memory only.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyrage
import pytest
from botocore.exceptions import ClientError

from tenant_exit.phases.archive import ArchiveOutcome, judge
from tenant_exit.storage.archive_check import read_archive
from tenant_exit.storage.manifest import Manifest, read_manifest_version
from tenant_exit.storage.object_lock import (
    LockMode,
    Retention,
    bucket_protection,
    ensure_retention,
    whole_second,
)
from tenant_exit.storage.s3client import make_client
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import seed_tenant
from tests.support.backups import run_worker, worker_env

PREFIX = "exits/lock/attempt-1/"


def _bucket(s3_server: S3Server, *, lock: bool = False, versioned: bool = False) -> str:
    name = f"lock-{uuid.uuid4().hex[:12]}"
    s3 = s3_server.client()
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=lock,
                     CreateBucketConfiguration={"LocationConstraint": s3_server.region})  # type: ignore[typeddict-item]
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _backup(db_server: DatabaseServer, s3_server: S3Server, schema: str, bucket: str,
            tmp_path: Path, **extra: str) -> tuple[str, bytes]:
    docs = tmp_path / "documents"
    seed_tenant(db_server, schema, clients=5, documents_dir=docs, files=3, seed=5)
    termination = tmp_path / "termination-log"
    env = worker_env(db=db_server, s3=s3_server, bucket=bucket, exit_name="lock",
                     recipients=[str(pyrage.x25519.Identity.generate().to_public())],
                     termination_log=termination, databases=[schema],
                     documents=[{"name": "docs", "path": str(docs)}], **extra)
    result = run_worker(env)
    assert result.returncode == 0, result.stderr[-3000:]
    key = json.loads(termination.read_text())["manifestKey"]
    assert key == f"{PREFIX}manifest.json"
    return key, s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()


def test_the_operator_sees_which_buckets_have_object_lock(s3_server: S3Server) -> None:
    s3 = s3_server.client()
    locked = bucket_protection(s3, _bucket(s3_server, lock=True))
    plain = bucket_protection(s3, _bucket(s3_server))
    versioned = bucket_protection(s3, _bucket(s3_server, versioned=True))
    assert (locked.object_lock, locked.versioned) == (True, True)
    assert (plain.object_lock, plain.versioned) == (False, False)
    assert (versioned.object_lock, versioned.versioned) == (False, True)
    # Not there (yet): the Job fails at the store as in an outage, not the operator.
    absent = bucket_protection(s3, f"absent-{uuid.uuid4().hex[:8]}")
    assert (absent.object_lock, absent.versioned) == (False, False)


def test_every_backup_object_is_locked_and_a_locked_version_cannot_be_deleted(
        db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str,
        tmp_path: Path) -> None:
    bucket = _bucket(s3_server, lock=True)
    until = whole_second(datetime.now(UTC) + timedelta(hours=2))
    key, data = _backup(db_server, s3_server, fresh_schema, bucket, tmp_path,
                        TENANT_EXIT_OBJECT_LOCK=json.dumps(
                            {"mode": "COMPLIANCE", "retainUntil": until.isoformat()}))
    s3 = s3_server.client()
    manifest, digest, manifest_version = read_manifest_version(s3, bucket, key)
    assert manifest.retention is not None
    assert (manifest.retention.mode, manifest.retention.retain_until) == ("COMPLIANCE", until)
    assert manifest_version is not None
    versions = {obj.key: obj.version_id for obj in manifest.objects}
    assert len(versions) == 4 and all(versions.values()), versions  # dump, tar, 2 dictionaries
    for object_key, version in [*versions.items(), (key, manifest_version)]:
        head = s3.head_object(Bucket=bucket, Key=object_key, VersionId=version)  # type: ignore[arg-type]
        assert head["ObjectLockMode"] == "COMPLIANCE", object_key
        assert head["ObjectLockRetainUntilDate"] >= until, object_key

    for object_key, version in [*versions.items(), (key, manifest_version)]:
        for bypass in (False, True):
            with pytest.raises(ClientError) as refused:
                s3.delete_object(Bucket=bucket, Key=object_key, VersionId=version,  # type: ignore[arg-type]
                                 BypassGovernanceRetention=bypass)
            assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key=key, VersionId=manifest_version)["Body"].read() == data

    # The receipt lengthens it (never shortens it): what awaiting_receipt asks for.
    later = Retention(LockMode.COMPLIANCE, whole_second(until + timedelta(days=3)))
    dump = next(k for k in versions if "database-" in k)
    assert ensure_retention(s3, bucket, dump, versions[dump], later) >= later.retain_until
    assert ensure_retention(s3, bucket, dump, versions[dump],
                            Retention(LockMode.COMPLIANCE, until)) >= later.retain_until

    # Re-read before Deleting, by version: intact; then someone writes over the key.
    assert judge(read_archive(s3, bucket, key, expected_sha256=digest,
                              manifest_version=manifest_version), digest,
                 manifest_version).intact
    s3.put_object(Bucket=bucket, Key=key, Body=data.replace(b'"rows"', b'"rowz"'),
                  ContentMD5=_md5(data.replace(b'"rows"', b'"rowz"')))
    verdict = judge(read_archive(s3, bucket, key, expected_sha256=digest,
                                 manifest_version=manifest_version), digest, manifest_version)
    assert verdict.outcome is ArchiveOutcome.CHANGED
    assert any("was replaced after the backup" in p and key in p for p in verdict.problems)
    # ...while the receipted version itself is still there, locked.
    assert s3.get_object(Bucket=bucket, Key=key, VersionId=manifest_version)["Body"].read() == data


def test_a_versioned_bucket_without_lock_records_each_objects_version(
        db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str,
        tmp_path: Path) -> None:
    bucket = _bucket(s3_server, versioned=True)
    key, data = _backup(db_server, s3_server, fresh_schema, bucket, tmp_path)
    s3 = s3_server.client()
    manifest, digest, manifest_version = read_manifest_version(s3, bucket, key)
    assert manifest.retention is None and manifest_version is not None
    assert all(obj.version_id for obj in manifest.objects)
    # An object deleted without a version leaves a delete marker: the re-read names it.
    tar = next(obj for obj in manifest.objects if obj.kind == "documents")
    s3.delete_object(Bucket=bucket, Key=tar.key)
    verdict = judge(read_archive(s3, bucket, key, expected_sha256=digest,
                                 manifest_version=manifest_version), digest, manifest_version)
    assert verdict.outcome is ArchiveOutcome.CHANGED
    assert verdict.problems == (
        f"object s3://{bucket}/{tar.key} was replaced after the backup: its current version "
        f"is a delete marker, not the recorded {tar.version_id}",)
    assert Manifest.from_bytes(data).objects == manifest.objects


def test_a_plain_bucket_is_re_read_by_key_and_a_removed_object_is_named(
        db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str,
        tmp_path: Path) -> None:
    bucket = _bucket(s3_server)
    key, _ = _backup(db_server, s3_server, fresh_schema, bucket, tmp_path)
    s3 = s3_server.client()
    manifest, digest, version = read_manifest_version(s3, bucket, key)
    assert version is None and not any(obj.version_id for obj in manifest.objects)
    assert judge(read_archive(s3, bucket, key, expected_sha256=digest), digest).intact
    dump = manifest.objects[0]
    s3.delete_object(Bucket=bucket, Key=dump.key)
    verdict = judge(read_archive(s3, bucket, key, expected_sha256=digest), digest)
    assert verdict.problems == (f"object s3://{bucket}/{dump.key} is missing",)


def test_a_store_that_does_not_answer_is_unreachable_not_changed(tmp_path: Path) -> None:
    with S3Server(workdir=tmp_path) as own:
        endpoint, key_id, secret = own.endpoint_url, own.access_key, own.secret_key
    client = make_client(endpoint_url=endpoint, region="eu-west-1", max_attempts=1,
                         aws_access_key_id=key_id, aws_secret_access_key=secret)
    reading = read_archive(client, "tenant-exits", PREFIX + "manifest.json",
                           expected_sha256="0" * 64)
    verdict = judge(reading, "0" * 64)
    assert verdict.outcome is ArchiveOutcome.UNREACHABLE
    assert reading.unreachable is not None
    assert f"s3://tenant-exits/{PREFIX}manifest.json" in reading.unreachable
    assert secret not in reading.unreachable


def _md5(body: bytes) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
