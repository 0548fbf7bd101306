"""Post-quantum age recipients (age 1.3, ML-KEM-768 + X25519) end to end: the
API server accepts a real `age-keygen -pq` key and refuses a list mixing it
with classical keys; the worker encrypts to PQ recipients with the pinned age
and each customer identity decrypts every object to the recorded plaintext.

The worker round trip runs on both database families (db_server).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from pathlib import Path

import pyrage
import pytest
import zstandard

from tests.localcluster.binaries import age_dir
from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import seed_tenant
from tests.support.backups import run_worker, worker_env
from tests.support.exits import AGE_RECIPIENT, example_spec
from tests.support.operator_process import install_crds

pytestmark = pytest.mark.cluster


def pq_identity(directory: Path, name: str) -> tuple[Path, str]:
    """A customer's `age-keygen -pq` identity file and its public key."""
    path = directory / f"{name}.txt"
    subprocess.run([str(age_dir() / "age-keygen"), "-pq", "-o", str(path)], check=True,
                   capture_output=True)
    public = subprocess.run([str(age_dir() / "age-keygen"), "-y", str(path)], check=True,
                            capture_output=True, text=True).stdout.strip()
    return path, public


def age_decrypt(identity: Path, stored: bytes) -> bytes:
    return subprocess.run([str(age_dir() / "age"), "--decrypt", "-i", str(identity)],
                          input=stored, check=True, capture_output=True).stdout


def test_the_api_server_accepts_a_pq_key_and_refuses_a_mixed_list(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    install_crds(control_plane)
    _, public = pq_identity(tmp_path, "customer")
    assert public.startswith("age1pq1") and len(public) == 1959

    def apply(recipients: list[str]) -> subprocess.CompletedProcess[str]:
        spec = example_spec(f"tenant-{uuid.uuid4().hex[:8]}")
        spec["destination"]["encryption"]["ageRecipients"] = recipients
        body = {"apiVersion": "tenantexit.io/v1alpha1", "kind": "TenantExit",
                "metadata": {"name": f"pq-{uuid.uuid4().hex[:6]}"}, "spec": spec}
        return control_plane.kubectl("apply", "--dry-run=server", "-f", "-",
                                     input=json.dumps(body), check=False)

    _, second = pq_identity(tmp_path, "second")
    assert apply([public, second]).returncode == 0, apply([public, second]).stderr
    mixed = apply([public, AGE_RECIPIENT])
    assert mixed.returncode != 0
    assert "mixes post-quantum (age1pq1...) and classical (age1...) keys" in mixed.stderr
    truncated = apply([public[:-1]])
    assert truncated.returncode != 0 and "ageRecipients" in truncated.stderr


def test_a_backup_to_pq_recipients_decrypts_with_each_pq_identity(
    db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str, fresh_bucket: str,
    tmp_path: Path
) -> None:
    docs = tmp_path / "documents"
    seed_tenant(db_server, fresh_schema, clients=20, documents_dir=docs, files=10, seed=5)
    first, first_public = pq_identity(tmp_path, "first")
    second, second_public = pq_identity(tmp_path, "second")
    env = worker_env(db=db_server, s3=s3_server, bucket=fresh_bucket, exit_name="pq-exit",
                     recipients=[first_public, second_public],
                     termination_log=tmp_path / "termination-log", databases=[fresh_schema],
                     documents=[{"name": "client-documents", "path": str(docs)}])

    result = run_worker(env)

    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "termination-log").read_text())
    s3 = s3_server.client()
    manifest = json.loads(s3.get_object(Bucket=fresh_bucket,
                                        Key=summary["manifestKey"])["Body"].read())
    assert manifest["encryption"]["recipients"] == [first_public, second_public]
    assert manifest["tools"]["age"].startswith("v1.3"), manifest["tools"]
    assert {o["kind"] for o in manifest["objects"]} >= {"database", "documents"}
    for obj in manifest["objects"]:
        stored = s3.get_object(Bucket=fresh_bucket, Key=obj["key"])["Body"].read()
        assert stored.startswith(b"age-encryption.org/v1\n-> mlkem768x25519 ")
        for identity in (first, second):
            plain = zstandard.ZstdDecompressor().decompressobj().decompress(
                age_decrypt(identity, stored))
            assert hashlib.sha256(plain).hexdigest() == obj["plaintextSha256"], obj["key"]
        # A classical identity cannot open a PQ-only file.
        with pytest.raises(pyrage.DecryptError):
            pyrage.decrypt(stored, [pyrage.x25519.Identity.generate()])
