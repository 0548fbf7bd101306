"""The customer's side of an exit, end to end: a backup encrypted to the
customer's post-quantum age key, signed artefacts checked with only the
operator's public key, a tampered byte in the bucket reported, and the
platform engineer's `kubectl tenantexit` (the real kubectl binary finding the
plugin on PATH).

The operator runs as a process (cluster-admin identity; the chart's RBAC is
the business of test_full_exit) against the real control plane, kubelet,
MariaDB and S3 server.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard

from tests.integration.test_post_quantum import age_decrypt, pq_identity
from tests.localcluster.binaries import binary
from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.mariadb import MariaDBServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.volumes import LocalVolumes
from tests.support.customer import download_backup
from tests.support.full_tenant import FullTenant, provision_tenant
from tests.support.operator_process import OPERATOR_NAMESPACE, OperatorProcess, running_operator

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane, kubelet: object,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with running_operator(control_plane, Path(tmp_path_factory.mktemp("receipt-operator")),
                          {"TENANT_EXIT_BACKUP_RETRY_SECONDS": "3"}) as process:
        yield process


@pytest.fixture
def tenant(operator: OperatorProcess, control_plane: ControlPlane, mariadb: MariaDBServer,
           s3_server: S3Server, local_volumes: LocalVolumes) -> Iterator[FullTenant]:
    made = provision_tenant(control_plane, mariadb, s3_server, local_volumes,
                            OPERATOR_NAMESPACE, clients=10, files=8)
    yield made
    made.clean_up()


def tenant_exit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tenant_exit.cli", *args], capture_output=True,
                          text=True, check=False, env={**os.environ, **(env or {})})


def kubectl_tenantexit(plane: ControlPlane, *args: str) -> subprocess.CompletedProcess[str]:
    """`kubectl tenantexit ...` with the package's entry point on PATH."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run([binary("kubectl"), "tenantexit", *args], capture_output=True,
                          text=True, check=False, timeout=120,
                          env={**os.environ, "PATH": path, "KUBECONFIG": str(plane.kubeconfig)})


def flip_one_byte(s3: S3Server, bucket: str, key: str, marker: bytes) -> bytes:
    """Change one byte inside a JSON string value (so the document still parses,
    as a careful forger's would); returns the original bytes."""
    client = s3.client()
    original = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    at = original.index(marker) + len(marker)
    tampered = bytearray(original)
    tampered[at] ^= 0x20  # flips the case of a letter
    client.put_object(Bucket=bucket, Key=key, Body=bytes(tampered))
    return bytes(original)


def verify_in_bucket(tenant: FullTenant, manifest_key: str, public_key: str,
                     ) -> subprocess.CompletedProcess[str]:
    return tenant_exit("verify", f"s3://{tenant.bucket}/{manifest_key}", "--endpoint-url",
                       tenant.s3.endpoint_url, "--region", tenant.s3.region,
                       "--public-key", public_key, env=tenant.s3.env())


def test_a_pq_encrypted_exit_with_signed_manifest_and_certificate(
    tenant: FullTenant, control_plane: ControlPlane, tmp_path: Path
) -> None:
    identity, recipient = pq_identity(tmp_path, "customer")
    body = tenant.body(licence_seconds=None, grace="1s")
    body["spec"]["destination"]["encryption"]["ageRecipients"] = [recipient]
    tenant.apply(body)
    exit: dict[str, Any] = tenant.wait_for_phase("AwaitingReceipt", 240)
    assert tenant.condition("PostQuantumEncryption")["status"] == "True"
    backup = exit["status"]["backup"]
    public_key = backup["signingKey"]
    assert public_key.startswith("ed25519:")
    assert backup["manifestSignature"] == backup["manifest"] + ".sig"

    # The platform engineer publishes the same key.
    published = tenant_exit("public-key", "--namespace", OPERATOR_NAMESPACE,
                            env={"KUBECONFIG": str(control_plane.kubeconfig)})
    assert published.returncode == 0, published.stderr
    assert published.stdout.strip() == public_key

    # The customer: download, then one command checks signature and digests.
    download = download_backup(tenant.plane, exit, tmp_path / "download")
    assert "manifest.json.sig" in download.files
    readme = download.files["README.txt"].read_text()
    assert public_key in readme
    verified = tenant_exit("verify", "--public-key", public_key, "--directory",
                           str(download.directory), str(download.files["manifest.json"]))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "SIGNED  manifest.json" in verified.stdout
    assert "NOTE: this backup is encrypted to classical" not in readme

    # Decrypt every object with the PQ identity; check the plaintext digests.
    assert download.manifest["encryption"]["recipients"] == [recipient]
    for obj in download.manifest["objects"]:
        stored = download.files[obj["key"].rsplit("/", 1)[-1]].read_bytes()
        plain = zstandard.ZstdDecompressor().decompressobj().decompress(
            age_decrypt(identity, stored))
        assert hashlib.sha256(plain).hexdigest() == obj["plaintextSha256"], obj["key"]
    unsigned = tenant_exit("verify", "--public-key", "ed25519:" + "A" * 43 + "=",
                           str(download.files["manifest.json"]))
    assert unsigned.returncode == 1 and "not a trusted key" in unsigned.stdout

    # The platform engineer: the story, then the receipt through the plugin.
    story = kubectl_tenantexit(control_plane, "status", tenant.exit_name)
    assert story.returncode == 0, story.stderr
    assert "Phase:   AwaitingReceipt" in story.stdout and "\033[" not in story.stdout
    assert backup["manifestSha256"] in story.stdout
    assert "BackupVerified" in story.stdout and "Acts:    the customer" in story.stdout
    as_json = json.loads(kubectl_tenantexit(control_plane, "status", tenant.exit_name,
                                            "-o", "json").stdout)
    assert as_json["phase"] == "AwaitingReceipt"
    assert as_json["backup"]["database"]["tables"] > 0
    assert "*.audit_*" in as_json["excluded"]["tables"]
    digest = download.manifest_sha256
    wrong = ("0" if digest[0] != "0" else "1") + digest[1:]
    refused = kubectl_tenantexit(control_plane, "confirm-receipt", tenant.exit_name,
                                 "--manifest-sha256", wrong, "--by", "it@zorggroep-noord.nl")
    assert refused.returncode == 1 and "refused" in refused.stderr and digest in refused.stderr
    assert "receipt" not in tenant.get()["spec"], "nothing was patched"
    confirmed = kubectl_tenantexit(control_plane, "confirm-receipt", tenant.exit_name,
                                   "--manifest-sha256", digest, "--by", "it@zorggroep-noord.nl")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "deletion not before 20" in confirmed.stdout
    done = tenant.wait_for_phase("Deleted", 240)
    certified = kubectl_tenantexit(control_plane, "certificate", tenant.exit_name)
    assert certified.returncode == 0, certified.stdout + certified.stderr
    assert "signature: OK" in certified.stdout and tenant.namespace in certified.stdout
    deletion = done["status"]["deletion"]
    assert deletion["certificateSignature"] == deletion["certificateObject"] + ".sig"

    in_bucket = verify_in_bucket(tenant, backup["manifest"], public_key)
    assert in_bucket.returncode == 0, in_bucket.stdout + in_bucket.stderr
    assert "SIGNED  manifest.json" in in_bucket.stdout
    assert "SIGNED  deletion-certificate.json" in in_bucket.stdout

    # One byte of the manifest, then of the certificate, changed in the bucket.
    original = flip_one_byte(tenant.s3, tenant.bucket, backup["manifest"], b'"notice": "')
    tampered = verify_in_bucket(tenant, backup["manifest"], public_key)
    assert tampered.returncode == 1
    assert "FAILED  manifest.json signature" in tampered.stdout
    assert "changed after it was signed" in tampered.stdout
    tenant.s3.client().put_object(Bucket=tenant.bucket, Key=backup["manifest"], Body=original)

    flip_one_byte(tenant.s3, tenant.bucket, deletion["certificateObject"], b'"statement": "')
    tampered = verify_in_bucket(tenant, backup["manifest"], public_key)
    assert tampered.returncode == 1
    assert "SIGNED  manifest.json" in tampered.stdout
    assert "FAILED  deletion-certificate.json signature" in tampered.stdout
    certified = kubectl_tenantexit(control_plane, "certificate", tenant.exit_name)
    assert certified.returncode == 1
    assert "signature: FAILED" in certified.stdout and "changed after" in certified.stdout


def test_classical_recipients_only_is_a_warning_not_a_refusal(tenant: FullTenant) -> None:
    tenant.apply(tenant.body(licence_seconds=3600, grace="1h"))
    tenant.wait_for_phase("ReadOnlyLicensed", 60)
    condition = tenant.condition("PostQuantumEncryption")
    assert condition["status"] == "False" and condition["reason"] == "ClassicalRecipientsOnly"
    assert "age-keygen -pq" in condition["message"]
    warnings = [e for e in tenant.events() if e["reason"] == "ClassicalRecipientsOnly"]
    assert [e["type"] for e in warnings] == ["Warning"]
