"""The verify Job on the real control plane: the process kubelet runs its pod as a
process, which reads a stored backup back from the S3 server through presigned
links. Every byte is read (a one-byte change is found), a pod killed mid-read is
replaced and the Job still verifies, and links the store refuses fail the Job
with a clear, secret-free reason the exit's condition carries.

The refused links are tested against SeaweedFS's S3 gateway (bench/seaweedfs.py,
built on first use like the bench's): moto with its auth checks on answers every
presigned GET with 500, good signature or not, so it cannot show a refusal.

The backups here are objects of random bytes with a manifest of their sizes and
digests: the verify Job checks stored bytes only, whatever made them (the
worker's own output goes through it in the operator tests)."""

from __future__ import annotations

import hashlib
import os
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest
from bench.seaweedfs import SeaweedS3
from kubernetes import client

from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.verify_result import VerifyPlan, VerifyResult
from tenant_exit.kube import jobs
from tenant_exit.kube.verify_jobs import start_verify_job
from tenant_exit.phases.backup_outcome import read_back_problem
from tenant_exit.phases.observed import BackupCheck, JobState
from tenant_exit.reconcile.observe import job_state
from tenant_exit.settings import OperatorSettings
from tenant_exit.storage.manifest import (
    Encryption,
    Manifest,
    ObjectKind,
    StoredObject,
    Totals,
)
from tenant_exit.storage.presign import presign_get
from tenant_exit.storage.s3client import make_client
from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.kubelet import ProcessKubelet
from tests.localcluster.s3server import S3Server
from tests.support.exits import AGE_RECIPIENT
from tests.support.operator_process import install_crds
from tests.support.waiting import wait_for

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.cluster

MiB = 1 << 20


class Store(Protocol):
    endpoint_url: str
    region: str
    access_key: str
    secret_key: str


def client_of(s3: Store, secret_key: str | None = None) -> S3Client:
    return make_client(endpoint_url=s3.endpoint_url, region=s3.region,
                       aws_access_key_id=s3.access_key,
                       aws_secret_access_key=secret_key or s3.secret_key)


@dataclass
class Stored:
    """A backup in the bucket: its manifest's key and digest, and its objects."""

    s3: Store
    bucket: str
    manifest_key: str
    manifest_sha256: str
    manifest: Manifest


@dataclass
class Home:
    """The operator's namespace for one test and the exit that owns its Jobs."""

    core: client.CoreV1Api
    batch: client.BatchV1Api
    exit: TenantExit
    settings: OperatorSettings


@pytest.fixture
def home(control_plane: ControlPlane, kubelet: ProcessKubelet) -> Iterator[Home]:
    install_crds(control_plane)
    api = control_plane.api_client()
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    suffix = uuid.uuid4().hex[:6]
    namespace = f"verify-home-{suffix}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    # A real owner: a Job owned by a UID that does not exist is collected at once.
    body = custom.create_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL, {
        "apiVersion": f"{names.GROUP}/{names.VERSION}", "kind": names.KIND,
        "metadata": {"name": f"verify-{suffix}"},
        "spec": {"tenantNamespace": f"tenant-verify-{suffix}",
                 "database": {"host": "mysql.invalid", "credentialsSecret": "db",
                              "databases": ["ons"]}}})
    settings = OperatorSettings(operator_namespace=namespace, job_backoff_limit=2,
                                verify_deadline_seconds=600)
    try:
        yield Home(core, client.BatchV1Api(api), TenantExit.from_body(body), settings)
    finally:
        custom.delete_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL,
                                            body["metadata"]["name"])
        core.delete_namespace(namespace)


def store_backup(s3: Store, bucket: str, sizes: list[int]) -> Stored:
    prefix = f"verify/{uuid.uuid4().hex[:8]}/attempt-1/"
    client_ = client_of(s3)
    objects = []
    for index, size in enumerate(sizes):
        data = os.urandom(size)
        key = f"{prefix}documents-claim{index}.tar.zst.age"
        client_.put_object(Bucket=bucket, Key=key, Body=data)
        digest = hashlib.sha256(data).hexdigest()
        objects.append(StoredObject(key=key, kind=ObjectKind.DOCUMENTS, name=f"claim{index}",
                                    content="application/x-tar", size=size, sha256=digest,
                                    plaintext_bytes=size, plaintext_sha256=digest))
    now = datetime.now(UTC)
    manifest = Manifest(exit_name="verify", attempt=1, started_at=now, completed_at=now,
                        encryption=Encryption(recipients=[AGE_RECIPIENT]), objects=objects,
                        totals=Totals(tables=0, rows=0, database_bytes=0, files=len(sizes),
                                      document_bytes=sum(sizes)))
    data = manifest.to_bytes()
    key = f"{prefix}manifest.json"
    client_.put_object(Bucket=bucket, Key=key, Body=data)
    return Stored(s3, bucket, key, hashlib.sha256(data).hexdigest(), manifest)


def plan_for(stored: Stored, secret_key: str | None = None) -> VerifyPlan:
    """Links signed with the server's key, or with `secret_key` (a wrong one)."""
    signer = client_of(stored.s3, secret_key)
    return VerifyPlan(
        manifest_key=stored.manifest_key, manifest_sha256=stored.manifest_sha256,
        manifest_url=presign_get(signer, stored.bucket, stored.manifest_key, 600),
        object_urls={o.key: presign_get(signer, stored.bucket, o.key, 600)
                     for o in stored.manifest.objects})


def finished(home: Home, attempt: int = 1, timeout: float = 180) -> JobState:
    name = names.verify_job_name(home.exit.name, attempt)
    namespace = home.settings.operator_namespace

    def state() -> JobState | None:
        job = jobs.read_job(home.batch, namespace, name)
        found = job_state(job) if job is not None else None
        return found if found is not None and (found.succeeded or found.failed) else None

    wait_for(f"verify Job {name} to finish", lambda: state() is not None, timeout=timeout)
    done = state()
    assert done is not None
    message = jobs.termination_message(home.core, namespace, name, succeeded=done.succeeded)
    return JobState(name=done.name, succeeded=done.succeeded, failed=done.failed,
                    failure_message=done.failure_message, termination_message=message)


def check_of(stored: Stored) -> BackupCheck:
    """What the operator knows before the read-back: the manifest it read."""
    return BackupCheck(stored.manifest_key, stored.manifest_sha256, stored.manifest_sha256,
                       objects=len(stored.manifest.objects))


BACKUP_JOB = JobState(name="verify-backup-1", succeeded=True)


def test_every_object_is_read_back_and_verifies(home: Home, s3_server: S3Server,
                                                fresh_bucket: str) -> None:
    stored = store_backup(s3_server, fresh_bucket, [3 * MiB, 1, 700_000])
    start_verify_job(home.core, home.batch, home.exit.owner, 1, plan_for(stored), home.settings)
    done = finished(home)
    assert done.succeeded, done.failure_message
    result = VerifyResult.parse(done.termination_message)
    assert result is not None and result.ok, done.termination_message
    assert (result.objects, result.bytes) == (3, 3 * MiB + 1 + 700_000)
    assert result.manifest_sha256 == stored.manifest_sha256
    assert read_back_problem(BACKUP_JOB, done, check_of(stored)) is None


def test_a_one_byte_change_is_found(home: Home, s3_server: S3Server, fresh_bucket: str) -> None:
    stored = store_backup(s3_server, fresh_bucket, [2 * MiB, 2 * MiB])
    tampered = stored.manifest.objects[1]
    s3 = s3_server.client()
    data = bytearray(s3.get_object(Bucket=fresh_bucket, Key=tampered.key)["Body"].read())
    data[MiB + 12345] ^= 0x01  # one bit of one byte, deep inside, same size
    s3.put_object(Bucket=fresh_bucket, Key=tampered.key, Body=bytes(data))

    start_verify_job(home.core, home.batch, home.exit.owner, 1, plan_for(stored), home.settings)
    done = finished(home)
    assert done.succeeded, "a mismatch is a finding, not a failure to read"
    result = VerifyResult.parse(done.termination_message)
    assert result is not None and not result.ok
    assert result.bytes == 4 * MiB, "every byte was read"
    [problem] = result.problems
    assert problem.startswith(f"{tampered.key}: SHA-256 ")
    assert f"manifest says {tampered.sha256}" in problem
    why = read_back_problem(BACKUP_JOB, done, check_of(stored))
    assert why is not None and "does not match its manifest" in why and tampered.key in why


def _verify_process(manifest_key: str) -> int | None:
    """The pid of the verify container's process for this manifest, if it runs."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if b"TENANT_EXIT_VERIFY_PLAN=" in environ and manifest_key.encode() in environ:
            return int(entry.name)
    return None


def _objects_read(pid: int) -> int:
    """Objects the process has reported as read (its stderr is the pod's log file).
    Socket reads do not show in /proc/<pid>/io, so its own progress lines are the
    clock."""
    try:
        text = Path(os.readlink(f"/proc/{pid}/fd/2")).read_text()
    except OSError:
        return 0
    return text.count('"event": "object"')


def test_a_pod_killed_mid_read_is_replaced_and_the_job_still_verifies(
        home: Home, s3_server: S3Server, fresh_bucket: str) -> None:
    # The middle object must take long enough to read for the kill to land inside
    # it: on a quiet machine 64 MiB took 0.25 s and the whole pod 1.2 s, too short
    # for the test to find the process before it had finished.
    stored = store_backup(s3_server, fresh_bucket, [8 * MiB, 512 * MiB, 8 * MiB])
    start_verify_job(home.core, home.batch, home.exit.owner, 1, plan_for(stored), home.settings)
    wait_for("the verify pod's process", lambda: _verify_process(stored.manifest_key) is not None,
             timeout=120, interval=0.05)
    pid = _verify_process(stored.manifest_key)
    assert pid is not None
    wait_for("the verify pod to have read its first object", lambda: _objects_read(pid) >= 1,
             timeout=120, interval=0.01)
    os.kill(pid, signal.SIGKILL)  # while it reads the second of three

    done = finished(home)
    assert done.succeeded, done.failure_message
    job = jobs.read_job(home.batch, home.settings.operator_namespace, done.name)
    assert job is not None and job.status.failed == 1, "the killed pod counted once"
    result = VerifyResult.parse(done.termination_message)
    assert result is not None and result.ok and result.bytes == 528 * MiB


def test_links_the_store_refuses_fail_the_job_with_a_clear_reason(
        home: Home, tmp_path: Path) -> None:
    wrong = "wrong-secret-Zx81qPp0dFv3"  # deliberately wrong
    with SeaweedS3(tmp_path / "weed") as s3:
        bucket = s3.create_bucket("tenant-exits")
        stored = store_backup(s3, bucket, [MiB])
        plan = plan_for(stored, secret_key=wrong)
        settings = OperatorSettings(operator_namespace=home.settings.operator_namespace,
                                    job_backoff_limit=0, verify_deadline_seconds=600)
        start_verify_job(home.core, home.batch, home.exit.owner, 1, plan, settings)
        done = finished(home)
    assert done.failed
    assert '"code":"StorageRequestFailed"' in done.termination_message
    why = read_back_problem(BACKUP_JOB, done, check_of(stored))
    assert why is not None
    assert why.startswith(f"verify Job {done.name} could not read the backup back: reading ")
    assert "HTTP 403" in why and stored.manifest_key in why
    signature = plan.manifest_url.split("?", 1)[1]
    assert wrong not in why and signature not in why and "X-Amz-" not in why
