"""A TenantExit that names a TenantExitClass and says only what is the tenant's:
its namespace, database, documents and the customer's recipients. The platform's
terms (bucket, exclusions, grace period, write freeze, language, link lifetime)
come from the class, are recorded in status.policy when the operator takes the
exit on, and hold through an edit of the class mid-exit; the edited class
applies to the next exit, whose too-short grace period `kubectl apply` refuses.

The operator runs as a process (cluster-admin identity) against the real
control plane, kubelet, database server and S3 server, with the generated class
admission policy installed. Runs on MariaDB and on MySQL (db_server): nothing
here is specific to one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenant_exit.api.exit_class import DEFAULT_CLASS_ANNOTATION
from tests.e2e.test_customer_receipt import kubectl_tenantexit
from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.families import only_on
from tests.localcluster.s3server import S3Server
from tests.localcluster.volumes import LocalVolumes
from tests.support.class_admission import wait_until_admission
from tests.support.customer import download_backup
from tests.support.full_tenant import S3_SECRET, FullTenant, provision_tenant
from tests.support.operator_process import OPERATOR_NAMESPACE, OperatorProcess, running_operator
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

CLASS_TABLES = ["*.audit_*", "*.import_*", "*.export_*", "*.payroll_corrections"]


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane, kubelet: object,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with running_operator(control_plane, Path(tmp_path_factory.mktemp("class-operator")),
                          {"TENANT_EXIT_BACKUP_RETRY_SECONDS": "3"}) as process:
        yield process


@pytest.fixture
def tenant(operator: OperatorProcess, control_plane: ControlPlane, db_server: DatabaseServer,
           s3_server: S3Server, local_volumes: LocalVolumes) -> Iterator[FullTenant]:
    made = provision_tenant(control_plane, db_server, s3_server, local_volumes,
                            OPERATOR_NAMESPACE, clients=10, files=8)
    yield made
    made.clean_up()


@pytest.fixture
def platform_class(tenant: FullTenant, control_plane: ControlPlane) -> Iterator[str]:
    """What the platform repo holds: every term that is not the tenant's."""
    name = f"platform-{uuid.uuid4().hex[:6]}"
    control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "tenantexit.io/v1alpha1", "kind": "TenantExitClass",
        "metadata": {"name": name},
        "spec": {
            "destination": {"bucket": tenant.bucket, "prefix": "platform/",
                            "endpoint": tenant.s3.endpoint_url, "region": tenant.s3.region,
                            "credentialsSecret": {"namespace": OPERATOR_NAMESPACE,
                                                  "name": S3_SECRET}},
            "allowedCredentialNamespaces": [OPERATOR_NAMESPACE],
            "exclusions": {"tables": CLASS_TABLES},
            "deletion": {"minimumGracePeriod": "1s", "defaultGracePeriod": "3s"},
            "writeFreeze": "RevokeWrites",
            "verification": {"restore": "BestEffort"},
            "downloadLinkLifetime": "2h",
            "customerLanguage": "nl",
        },
    }))
    yield name
    control_plane.kubectl("delete", "tenantexitclass", name, "--wait=false", check=False)


def one_screen_exit(tenant: FullTenant, class_name: str, name: str | None = None,
                    **extra: Any) -> dict[str, Any]:
    """What the tenant repo holds: the tenant's own facts and the customer's key."""
    return {
        "apiVersion": "tenantexit.io/v1alpha1", "kind": "TenantExit",
        "metadata": {"name": name or tenant.exit_name},
        "spec": {
            "tenantNamespace": tenant.namespace,
            "className": class_name,
            "database": {"host": tenant.db.host, "port": tenant.db.port,
                         "credentialsSecret": "exit-dump-credentials",
                         "databases": [tenant.schema]},
            "documents": [{"claimName": "client-documents"}],
            "destination": {"encryption": {"ageRecipients": [str(tenant.identity.to_public())]}},
            **extra,
        },
    }


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_an_exit_on_a_class_runs_to_deleted_on_the_terms_it_started_with(
    tenant: FullTenant, platform_class: str, control_plane: ControlPlane, tmp_path: Path
) -> None:
    tenant.apply(one_screen_exit(tenant, platform_class))
    policy = wait_for("status.policy recorded", lambda: (tenant.get().get("status") or {}).get(
        "policy"), timeout=60)
    assert policy["className"] == platform_class and policy["gracePeriod"] == "3s"

    # The platform edits the class while the exit runs: nothing of it reaches the exit.
    control_plane.kubectl("patch", "tenantexitclass", platform_class, "--type=merge", "-p",
                          json.dumps({"spec": {
                              "destination": {"bucket": "elsewhere", "prefix": "moved/"},
                              "exclusions": {"tables": []},
                              "deletion": {"minimumGracePeriod": "720h",
                                           "defaultGracePeriod": "720h"},
                              "customerLanguage": "en", "downloadLinkLifetime": "168h"}}))

    exit = tenant.wait_for_phase("AwaitingReceipt", 240)
    status = exit["status"]
    assert status["policy"] == policy, "the recorded terms changed with the class"
    assert exit["spec"].get("deletion") is None, "the grace period is the class's, not the spec's"
    terms = status["terms"]
    assert (terms["bucket"], terms["prefix"]) == (tenant.bucket, "platform/")
    assert terms["excludeTables"] == CLASS_TABLES
    assert status["backup"]["manifest"].startswith(f"platform/{tenant.exit_name}-")
    enforced = tenant.condition("ReadOnlyEnforced")
    assert enforced is not None and enforced["reason"] == "WritesRevoked"
    lifetime = _time(status["backup"]["linksExpireAt"]) - _time(status["backup"]["completedAt"])
    assert 7000 < lifetime.total_seconds() < 7400, lifetime

    download = download_backup(tenant.plane, exit, tmp_path / "download")
    excluded = {t["name"] for s in download.manifest["database"]["schemas"]
                for t in s["excludedTables"]}
    assert "payroll_corrections" in excluded and "audit_log" in excluded
    readme = download.files["README.txt"].read_text(encoding="utf-8")
    assert readme.startswith(f"BACK-UP VAN UW GEGEVENS — {tenant.exit_name}\n")

    # The next exit gets the edited class: its 1h grace period is refused at apply.
    refused = control_plane.kubectl(
        "apply", "-f", "-", check=False, input=yaml.safe_dump(one_screen_exit(
            tenant, platform_class, name=f"{tenant.exit_name}-next",
            deletion={"gracePeriod": "1h"})))
    assert refused.returncode != 0
    assert (f"spec.deletion.gracePeriod 1h is shorter than the minimum 720h of "
            f"TenantExitClass {platform_class}") in refused.stderr, refused.stderr

    confirmed = kubectl_tenantexit(control_plane, "confirm-receipt", tenant.exit_name,
                                   "--manifest-sha256", download.manifest_sha256,
                                   "--by", "it@zorggroep-noord.nl")
    assert confirmed.returncode == 0, confirmed.stderr
    done = tenant.wait_for_phase("Deleted", 240)["status"]
    waited = _time(done["deletion"]["notBefore"]) - _time(done["receipt"]["confirmedAt"])
    assert waited.total_seconds() <= 5, f"the class's 3s grace, not the edited 720h: {waited}"
    assert not tenant.namespace_exists()
    certificate = json.loads(tenant.s3.client().get_object(
        Bucket=tenant.bucket, Key=done["deletion"]["certificateObject"])["Body"].read())
    assert certificate["language"] == "nl"


def test_an_exit_below_its_class_minimum_is_stalled_where_no_policy_refused_it(
    tenant: FullTenant, platform_class: str, control_plane: ControlPlane
) -> None:
    """The operator's own check (a cluster without the class admission policy): the
    exit is refused with the same limit named, and nothing of the tenant is touched."""
    control_plane.kubectl("delete", "validatingadmissionpolicybinding",
                          "tenantexit-class-limits")
    too_short = one_screen_exit(tenant, platform_class, deletion={"gracePeriod": "1h"})
    try:
        control_plane.kubectl("patch", "tenantexitclass", platform_class, "--type=merge",
                              "-p", json.dumps({"spec": {"deletion": {
                                  "minimumGracePeriod": "48h", "defaultGracePeriod": "72h"}}}))
        wait_until_admission(control_plane, too_short, refuses=False)
        tenant.apply(too_short)
        stalled = wait_for("the Stalled condition", lambda: tenant.condition("Stalled"),
                           timeout=60)
        assert stalled["reason"] == "ClassLimitsExceeded"
        assert (f"spec.deletion.gracePeriod 1h is shorter than the minimum 48h of "
                f"TenantExitClass {platform_class}") in stalled["message"]
        status = tenant.get()["status"]
        assert "phase" not in status and "policy" not in status
        assert (tenant.namespace_meta().labels or {}).get("tenantexit.io/exit") is None
    finally:
        control_plane.kubectl("apply", "--server-side", "--force-conflicts", "-f",
                              str(Path(__file__).resolve().parents[2] / "crds"
                                  / "class-limits-policy.yaml"))
        wait_until_admission(control_plane, one_screen_exit(
            tenant, platform_class, name=f"{tenant.exit_name}-probe",
            deletion={"gracePeriod": "1h"}), refuses=True)


def keyed_exit(tenant: FullTenant, class_name: str, name: str | None = None
               ) -> dict[str, Any]:
    """An exit that brings its own destination (the class's bucket) and asks for the
    platform's keys in the tenant namespace."""
    return one_screen_exit(tenant, class_name, name=name, destination={
        "s3": {"bucket": tenant.bucket, "prefix": "platform/",
               "endpoint": tenant.s3.endpoint_url, "region": tenant.s3.region,
               "credentialsSecret": {"namespace": OPERATOR_NAMESPACE, "name": S3_SECRET},
               "uploadCredentials": "PlatformKeys"},
        "encryption": {"ageRecipients": [str(tenant.identity.to_public())]}})


def tenant_secrets(tenant: FullTenant) -> dict[str, list[str]]:
    """Secret name -> its key names (never the values) in the tenant namespace."""
    return {s.metadata.name: sorted(s.data or {})
            for s in tenant.core.list_namespaced_secret(tenant.namespace).items}


@only_on("mariadb", "refused before the operator touches the tenant or its database")
def test_platform_keys_the_class_does_not_allow_are_stalled_where_no_policy_refused_them(
    tenant: FullTenant, platform_class: str, control_plane: ControlPlane
) -> None:
    """The operator's own check: the class says nothing about allowPlatformKeys, so no
    copy of the platform's keys reaches the tenant namespace."""
    control_plane.kubectl("delete", "validatingadmissionpolicybinding",
                          "tenantexit-class-limits")
    try:
        wait_until_admission(control_plane, keyed_exit(tenant, platform_class),
                             refuses=False)
        tenant.apply(keyed_exit(tenant, platform_class))

        def stalled_true() -> dict[str, Any] | None:
            found = tenant.condition("Stalled")
            return found if found and found.get("status") == "True" else None

        stalled = wait_for("the Stalled condition", stalled_true, timeout=60)
        assert stalled["reason"] == "ClassLimitsExceeded"
        assert (f"spec.destination.s3.uploadCredentials PlatformKeys is not allowed by "
                f"TenantExitClass {platform_class} (allowPlatformKeys is not true)"
                ) in stalled["message"], stalled["message"]
        status = tenant.get()["status"]
        assert "phase" not in status and "policy" not in status
        assert f"{tenant.exit_name}-destination-credentials" not in tenant_secrets(tenant)
        assert tenant.jobs() == []
    finally:
        control_plane.kubectl("apply", "--server-side", "--force-conflicts", "-f",
                              str(Path(__file__).resolve().parents[2] / "crds"
                                  / "class-limits-policy.yaml"))
        wait_until_admission(control_plane, keyed_exit(
            tenant, platform_class, name=f"{tenant.exit_name}-probe"), refuses=True)


@only_on("mariadb", "which keys the Job gets does not depend on the database family")
def test_a_class_that_allows_platform_keys_records_it_and_the_job_gets_the_keys(
    tenant: FullTenant, platform_class: str, control_plane: ControlPlane
) -> None:
    control_plane.kubectl("patch", "tenantexitclass", platform_class, "--type=merge", "-p",
                          json.dumps({"spec": {"allowPlatformKeys": True}}))
    wait_until_admission(control_plane, keyed_exit(tenant, platform_class), refuses=False)
    tenant.apply(keyed_exit(tenant, platform_class))
    policy = wait_for("status.policy recorded", lambda: (tenant.get().get("status") or {}).get(
        "policy"), timeout=60)
    assert policy["className"] == platform_class and policy["allowPlatformKeys"] is True
    copied = wait_for("the keys' copy in the tenant namespace", lambda: tenant_secrets(
        tenant).get(f"{tenant.exit_name}-destination-credentials"), timeout=120)
    assert copied == ["accessKeyId", "secretAccessKey"], "the platform's keys, no session"
    stalled = tenant.condition("Stalled")
    assert stalled is None or stalled["status"] != "True", stalled


def test_a_default_class_annotation_is_what_an_unnamed_exit_gets(
    tenant: FullTenant, platform_class: str, control_plane: ControlPlane
) -> None:
    """Short-lived: on the shared control plane a default class would give every other
    module's exits its terms."""
    control_plane.kubectl("annotate", "tenantexitclass", platform_class,
                          f"{DEFAULT_CLASS_ANNOTATION}=true")
    try:
        body = one_screen_exit(tenant, platform_class)
        del body["spec"]["className"]
        body["spec"]["readOnly"] = {"until": "2099-01-01T00:00:00Z"}
        tenant.apply(body)
        policy = wait_for("status.policy recorded", lambda: (tenant.get().get(
            "status") or {}).get("policy"), timeout=60)
    finally:
        control_plane.kubectl("annotate", "tenantexitclass", platform_class,
                              f"{DEFAULT_CLASS_ANNOTATION}-")
    assert policy["className"] == platform_class
    assert tenant.wait_for_phase("ReadOnlyLicensed", 60)["status"]["policy"] == policy
