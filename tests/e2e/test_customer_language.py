"""A Dutch-language exit made on a recorded request, end to end: the operator
(a process, cluster-admin identity) against the real control plane, kubelet,
database server and S3 server. The customer's README and the certificate's
summary come out in Dutch; the request reference travels from spec.request
through the backup Job into the manifest, and into the certificate, and
`kubectl tenantexit status` shows it.

Runs on MariaDB and on MySQL (db_server): nothing here is specific to one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_customer_receipt import kubectl_tenantexit, verify_in_bucket
from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.volumes import LocalVolumes
from tests.support.customer import download_backup
from tests.support.full_tenant import FullTenant, provision_tenant
from tests.support.operator_process import OPERATOR_NAMESPACE, OperatorProcess, running_operator

pytestmark = pytest.mark.cluster

REQUEST = {"ticket": "ZD-48213", "requestedBy": "j.jansen@zorggroep-noord.nl",
           "requestedAt": "2027-02-14T09:30:00+01:00"}


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane, kubelet: object,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with running_operator(control_plane, Path(tmp_path_factory.mktemp("language-operator")),
                          {"TENANT_EXIT_BACKUP_RETRY_SECONDS": "3"}) as process:
        yield process


@pytest.fixture
def tenant(operator: OperatorProcess, control_plane: ControlPlane, db_server: DatabaseServer,
           s3_server: S3Server, local_volumes: LocalVolumes) -> Iterator[FullTenant]:
    made = provision_tenant(control_plane, db_server, s3_server, local_volumes,
                            OPERATOR_NAMESPACE, clients=10, files=8)
    yield made
    made.clean_up()


def test_a_dutch_exit_on_a_request_gives_dutch_texts_and_records_the_request(
    tenant: FullTenant, control_plane: ControlPlane, tmp_path: Path
) -> None:
    body = tenant.body(licence_seconds=None, grace="1s")
    body["spec"]["customer"] = {"language": "nl"}
    body["spec"]["request"] = REQUEST
    tenant.apply(body)
    exit: dict[str, Any] = tenant.wait_for_phase("AwaitingReceipt", 240)
    backup = exit["status"]["backup"]

    # The manifest, written by the worker in the Job, carries the request.
    download = download_backup(tenant.plane, exit, tmp_path / "download")
    assert download.manifest["request"] == {
        "ticket": "ZD-48213", "requestedBy": "j.jansen@zorggroep-noord.nl",
        "requestedAt": "2027-02-14T09:30:00+01:00"}

    readme = download.files["README.txt"].read_text(encoding="utf-8")
    assert readme.startswith(f"BACK-UP VAN UW GEGEVENS — {tenant.exit_name}\n")
    assert "MET DEZE BACK-UP KUNT U DE APPLICATIE NIET HERSTELLEN" in readme
    assert "ticket ZD-48213, aangevraagd\n  door j.jansen@zorggroep-noord.nl" in readme
    assert "4. Bevestig de ontvangst" in readme and download.manifest_sha256 in readme
    # The tenant's identity is a classical X25519 one: the Dutch warning.
    assert "LET OP: deze back-up is alleen versleuteld voor klassieke" in readme
    assert "CANNOT RESTORE" not in readme and "Confirm receipt" not in readme
    assert (f"tenant-exit verify --public-key {backup['signingKey']} --directory . "
            "manifest.json") in readme

    story = kubectl_tenantexit(control_plane, "status", tenant.exit_name)
    assert story.returncode == 0, story.stderr
    assert ("Request: ZD-48213 by j.jansen@zorggroep-noord.nl at 2027-02-14T09:30:00+01:00"
            in story.stdout)
    as_json = json.loads(kubectl_tenantexit(control_plane, "status", tenant.exit_name,
                                            "-o", "json").stdout)
    assert as_json["request"]["ticket"] == "ZD-48213"

    confirmed = kubectl_tenantexit(control_plane, "confirm-receipt", tenant.exit_name,
                                   "--manifest-sha256", download.manifest_sha256,
                                   "--by", "it@zorggroep-noord.nl")
    assert confirmed.returncode == 0, confirmed.stderr
    deletion = tenant.wait_for_phase("Deleted", 240)["status"]["deletion"]

    raw = tenant.s3.client().get_object(Bucket=tenant.bucket,
                                        Key=deletion["certificateObject"])["Body"].read()
    certificate = json.loads(raw)
    assert certificate["language"] == "nl"
    assert certificate["request"]["ticket"] == "ZD-48213"
    assert certificate["request"]["requestedBy"] == "j.jansen@zorggroep-noord.nl"
    summary = certificate["summaryText"]
    assert summary.startswith(f"Verklaring van vernietiging voor {tenant.exit_name}")
    assert "onomkeerbaar verwijderd" in summary and tenant.namespace in summary
    assert "ticket ZD-48213 door j.jansen@zorggroep-noord.nl" in summary
    assert download.manifest_sha256 in summary
    # English keys, as every reader of the JSON expects; the signature covers it all.
    assert {"statement", "namespace", "receipt", "backup", "deletionCompletedAt"} <= set(
        certificate)
    verified = verify_in_bucket(tenant, backup["manifest"], backup["signingKey"])
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "SIGNED  deletion-certificate.json" in verified.stdout
    certified = kubectl_tenantexit(control_plane, "certificate", tenant.exit_name)
    assert certified.returncode == 0, certified.stdout + certified.stderr
    assert "signature: OK" in certified.stdout and "requested in ZD-48213" in certified.stdout
