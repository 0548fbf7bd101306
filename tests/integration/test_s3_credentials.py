"""Wrong S3 credentials: the worker and `tenant-exit verify` fail with a clear,
secret-free message, and nothing already stored is lost or left half-written.

The session S3 server accepts any key, so these tests start their own server
with `enforce_auth=True` (moto's IAM-backed key and signature checks). A good
backup is made first with the real key; every wrong-credential run is then
checked against it: its objects unchanged, no new object, no open upload.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyrage
import pytest

from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.families import UNTIL_WORKER_DUMPS_MYSQL
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import drop_tenant, seed_tenant
from tests.support.backups import (
    REPO_ROOT,
    log_events,
    multipart_uploads,
    object_keys,
    run_worker,
    worker_env,
)

pytestmark = UNTIL_WORKER_DUMPS_MYSQL

EXIT = "cred-check"
WRONG_SECRET = "wrong-secret-Zx81qPp0dFv3"  # deliberately wrong
UNKNOWN_KEY = "AKIAUNKNOWNKEY000042"


@dataclass
class GoodBackup:
    s3: S3Server
    bucket: str
    schema: str
    manifest_key: str
    manifest_sha256: str
    etags: dict[str, str]
    """ETag of every stored object, by key: what must not change."""


@pytest.fixture(scope="module")
def good_backup(db_server: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[GoodBackup]:
    """An auth-enforcing S3 server holding attempt 1 of `EXIT`, made with the right key."""
    workdir = tmp_path_factory.mktemp("s3auth")
    schema = "cred_" + workdir.name[-6:].replace("-", "_")
    seed_tenant(db_server, schema, clients=20, documents_dir=None, files=0, seed=5)
    try:
        with S3Server(workdir=workdir / "s3", enforce_auth=True) as s3:
            bucket = s3.create_bucket("tenant-exits")
            termination = workdir / "termination-log"
            env = worker_env(db=db_server, s3=s3, bucket=bucket, exit_name=EXIT,
                             recipients=[str(pyrage.x25519.Identity.generate().to_public())],
                             termination_log=termination, databases=[schema])
            result = run_worker(env, timeout=180)
            assert result.returncode == 0, result.stderr[-3000:]
            summary = json.loads(termination.read_text())
            client = s3.client()
            etags = {o["Key"]: o["ETag"]
                     for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
            yield GoodBackup(s3=s3, bucket=bucket, schema=schema,
                             manifest_key=summary["manifestKey"],
                             manifest_sha256=summary["manifestSha256"], etags=etags)
    finally:
        drop_tenant(db_server, schema)


def _assert_nothing_changed(backup: GoodBackup) -> None:
    client = backup.s3.client()
    listed = client.list_objects_v2(Bucket=backup.bucket).get("Contents", [])
    assert {o["Key"]: o["ETag"] for o in listed} == backup.etags
    assert multipart_uploads(client, backup.bucket) == []


@pytest.mark.parametrize(("access_key", "secret", "code"), [
    (None, WRONG_SECRET, "SignatureDoesNotMatch"),
    (UNKNOWN_KEY, WRONG_SECRET, "InvalidAccessKeyId"),
], ids=["wrong-secret", "unknown-key"])
def test_worker_with_wrong_s3_credentials(good_backup: GoodBackup, db_server: DatabaseServer,
                                          tmp_path: Path, access_key: str | None, secret: str,
                                          code: str) -> None:
    s3, bucket = good_backup.s3, good_backup.bucket
    termination = tmp_path / "termination-log"
    # Attempt 2 of the same exit: a retry with broken credentials must not touch attempt 1.
    env = worker_env(db=db_server, s3=s3, bucket=bucket, exit_name=EXIT, attempt=2,
                     recipients=[str(pyrage.x25519.Identity.generate().to_public())],
                     termination_log=termination, databases=[good_backup.schema])
    env["AWS_SECRET_ACCESS_KEY"] = secret
    if access_key is not None:
        env["AWS_ACCESS_KEY_ID"] = access_key
    result = run_worker(env, timeout=120)

    assert result.returncode == 1, result.stderr[-3000:]
    message = json.loads(termination.read_text())
    assert set(message) == {"code", "error"}
    assert message["code"] in ("StorageRequestFailed", "UploadFailed"), message
    error = message["error"]
    assert "\n" not in error
    assert code in error and "HTTP 403" in error
    assert f"s3://{bucket}" in error and s3.endpoint_url in error
    failed = [e for e in log_events(result.stderr) if e["event"] == "failed"]
    assert [e["error"] for e in failed] == [error]
    everything = result.stdout + result.stderr + termination.read_text()
    assert secret not in everything and s3.secret_key not in everything

    assert object_keys(s3.client(), bucket, f"exits/{EXIT}/attempt-2/") == []
    _assert_nothing_changed(good_backup)


def _verify(backup: GoodBackup, env_overrides: dict[str, str]
            ) -> subprocess.CompletedProcess[str]:
    s3 = backup.s3
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_")}
    env.update(s3.env())
    env.update(env_overrides)
    argv = [sys.executable, "-m", "tenant_exit.cli", "verify",
            f"s3://{backup.bucket}/{backup.manifest_key}",
            "--endpoint-url", s3.endpoint_url, "--region", s3.region]
    return subprocess.run(argv, env=env, capture_output=True, text=True, check=False,
                          cwd=REPO_ROOT, timeout=120)


def test_verify_with_wrong_s3_credentials(good_backup: GoodBackup) -> None:
    right = _verify(good_backup, {})
    assert right.returncode == 0, right.stdout + right.stderr
    assert f"manifest sha256 {good_backup.manifest_sha256}" in right.stdout

    wrong = _verify(good_backup, {"AWS_SECRET_ACCESS_KEY": WRONG_SECRET})
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert wrong.stdout == ""
    lines = wrong.stderr.strip().splitlines()
    assert len(lines) == 1, wrong.stderr
    assert lines[0].startswith("cannot verify: ")
    assert "SignatureDoesNotMatch" in lines[0]
    assert f"s3://{good_backup.bucket}/{good_backup.manifest_key}" in lines[0]
    assert good_backup.s3.endpoint_url in lines[0]
    assert WRONG_SECRET not in wrong.stderr and good_backup.s3.secret_key not in wrong.stderr

    unknown = _verify(good_backup, {"AWS_ACCESS_KEY_ID": UNKNOWN_KEY})
    assert unknown.returncode == 2
    assert "InvalidAccessKeyId" in unknown.stderr
    _assert_nothing_changed(good_backup)
