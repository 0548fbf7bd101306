"""The backup Job is a pure function of (owner, terms, attempt, settings)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from kubernetes.client import ApiClient

from tenant_exit.api.restore import RestoreMode, ScratchPlan, plan_scratch
from tenant_exit.kube.jobs import (
    S3_CREDENTIALS_DIR,
    TERMINATION_LOG,
    BackupTerms,
    build_backup_job,
)
from tenant_exit.settings import OperatorSettings
from tenant_exit.worker.settings import WorkerSettings
from tests.support.exits import AGE_RECIPIENT, example_spec, make_exit

SETTINGS = OperatorSettings(
    worker_image="registry.invalid/tenant-exit:1", job_deadline_seconds=7200
)


def rendered(attempt: int = 1, scratch: ScratchPlan | None = None) -> dict:
    exit = make_exit()
    assert exit.spec.destination is not None
    terms = BackupTerms(exit.spec.tenant_namespace, exit.spec.database, exit.spec.documents,
                        exit.spec.destination, scratch=scratch or ScratchPlan(RestoreMode.OFF))
    job = build_backup_job(exit.owner, terms, attempt, SETTINGS)
    return ApiClient().sanitize_for_serialization(job)


def env_of(job: dict) -> dict[str, dict]:
    return {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_same_inputs_give_the_same_job() -> None:
    assert rendered() == rendered()


def test_the_job_is_named_by_attempt_in_the_tenant_namespace_and_owned_by_the_exit() -> None:
    job = rendered(attempt=2)
    assert job["metadata"]["name"] == "zorggroep-noord-backup-2"
    assert job["metadata"]["namespace"] == "tenant-zorggroep-noord"
    [owner] = job["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "tenantexit.io/v1alpha1",
        "kind": "TenantExit",
        "name": "zorggroep-noord",
        "uid": "uid-zorggroep-noord",
        "controller": True,
        "blockOwnerDeletion": True,
    }


def test_evictions_do_not_burn_the_backoff_budget_and_a_hung_dump_is_bounded() -> None:
    spec = rendered()["spec"]
    assert spec["activeDeadlineSeconds"] == 7200
    assert spec["backoffLimit"] == 3
    [rule] = spec["podFailurePolicy"]["rules"]
    assert rule["action"] == "Ignore"
    assert rule["onPodConditions"] == [{"type": "DisruptionTarget", "status": "True"}]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_the_pod_meets_the_restricted_pod_security_standard() -> None:
    pod = rendered()["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "fsGroup" not in pod["securityContext"]  # would chown every tenant document
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
    }
    assert pod["automountServiceAccountToken"] is False


def test_document_claims_are_mounted_read_only() -> None:
    pod = rendered()["spec"]["template"]["spec"]
    claims = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert claims == [
        {
            "name": "documents-0",
            "persistentVolumeClaim": {"claimName": "client-documents", "readOnly": True},
        }
    ]
    mounts = pod["containers"][0]["volumeMounts"]
    assert {"name": "documents-0", "mountPath": "/data/documents/client-documents",
            "readOnly": True} in mounts


def test_the_environment_is_the_worker_contract() -> None:
    job = rendered(attempt=3)
    env = env_of(job)
    values = {name: e.get("value") for name, e in env.items() if "value" in e}
    assert values == {
        "TENANT_EXIT_EXIT_NAME": "zorggroep-noord",
        "TENANT_EXIT_EXIT_UID": "uid-zorggroep-noord",
        "TENANT_EXIT_ATTEMPT": "3",
        "TENANT_EXIT_DB_HOST": "mysql.tenant-zorggroep-noord.svc",
        "TENANT_EXIT_DB_PORT": "3306",
        "TENANT_EXIT_DB_DATABASES": '["ons"]',
        "TENANT_EXIT_DB_EXCLUDE_TABLES": '["*.audit_*", "*.import_*", "*.export_*"]',
        "TENANT_EXIT_DOCUMENTS": json.dumps(
            [
                {
                    "name": "client-documents",
                    "path": "/data/documents/client-documents",
                    "exclude": ["import/**", "tmp/**"],
                }
            ]
        ),
        "TENANT_EXIT_S3_BUCKET": "tenant-exits",
        "TENANT_EXIT_S3_PREFIX": "zorggroep-noord/",
        "TENANT_EXIT_S3_ENDPOINT": "https://objects.example.net",
        "TENANT_EXIT_S3_REGION": "eu-west-1",
        "TENANT_EXIT_S3_CREDENTIALS_DIR": S3_CREDENTIALS_DIR,
        "TENANT_EXIT_S3_UPLOAD_CREDENTIALS": "Scoped",
        "TENANT_EXIT_AGE_RECIPIENTS": json.dumps([AGE_RECIPIENT]),
        "TENANT_EXIT_TERMINATION_LOG": TERMINATION_LOG,
        "TENANT_EXIT_RESTORE_MODE": "Off",
        "TENANT_EXIT_RESTORE_MAX_DATA_BYTES": "0",
        "TENANT_EXIT_FREEZE": '{"mode": "RevokeWrites", "acknowledgement": null}',
    }
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["terminationMessagePath"] == TERMINATION_LOG


def test_credentials_come_only_from_secret_references() -> None:
    env = env_of(rendered())
    refs = {
        name: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for name, e in env.items()
        if "valueFrom" in e
    }
    assert refs == {
        "TENANT_EXIT_DB_USER": ("exit-dump-credentials", "username"),
        "TENANT_EXIT_DB_PASSWORD": ("exit-dump-credentials", "password"),
    }


def test_upload_credentials_are_a_mounted_secret_not_env() -> None:
    """Env from a Secret is fixed at the container's start; a mounted Secret is updated
    by kubelet, so the operator's renewal of the session reaches a running worker."""
    job = rendered()
    pod = job["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    secret = volumes["upload-credentials"]["secret"]
    assert secret["secretName"] == "zorggroep-noord-destination-credentials"
    assert mounts["upload-credentials"] == {"name": "upload-credentials", "readOnly": True,
                                            "mountPath": S3_CREDENTIALS_DIR}
    assert not [name for name in env_of(job) if name.startswith("AWS_")]


def test_the_request_reaches_the_worker_settings_through_the_job_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """spec.request -> TENANT_EXIT_REQUEST -> WorkerSettings.request (the manifest's)."""
    spec = example_spec()
    spec["request"] = {"ticket": "ZD-48213", "requestedBy": "j.jansen@zorggroep-noord.nl",
                       "requestedAt": "2027-02-03T09:15:00+01:00"}
    exit = make_exit(spec=spec)
    assert exit.spec.destination is not None and exit.spec.request is not None
    terms = BackupTerms(exit.spec.tenant_namespace, exit.spec.database, exit.spec.documents,
                        exit.spec.destination, exit.spec.request)
    env = env_of(ApiClient().sanitize_for_serialization(
        build_backup_job(exit.owner, terms, 1, SETTINGS)))
    assert json.loads(env["TENANT_EXIT_REQUEST"]["value"]) == {
        "ticket": "ZD-48213", "requestedBy": "j.jansen@zorggroep-noord.nl",
        "requestedAt": "2027-02-03T09:15:00+01:00"}
    assert "TENANT_EXIT_REQUEST" not in env_of(rendered()), "no request, no variable"

    for name, var in env.items():
        if "value" in var:
            monkeypatch.setenv(name, var["value"])
    monkeypatch.setenv("TENANT_EXIT_DB_USER", "dump")
    monkeypatch.setenv("TENANT_EXIT_DB_PASSWORD", "pw")
    settings = WorkerSettings()  # type: ignore[call-arg]
    assert settings.request is not None
    assert settings.request.ticket == "ZD-48213"
    assert settings.request.requested_by == "j.jansen@zorggroep-noord.nl"
    assert settings.request.requested_at == datetime(2027, 2, 3, 8, 15, tzinfo=UTC)


IMAGES = {"mysql-8.0": "mysql:8.0", "mysql-9": "mysql:9", "mariadb-10.11": "mariadb:10.11"}


@pytest.mark.parametrize(("family", "version", "image"), [
    ("mysql", "8.0.36", "mysql:8.0"),
    ("mysql", "9.7.4", "mysql:9"),
    ("mariadb", "10.11.19-MariaDB-0+deb12u1", "mariadb:10.11"),
    ("mariadb", "11.4.2-MariaDB", None),
])
def test_the_scratch_image_follows_the_source_family_and_version(
        family: str, version: str, image: str | None) -> None:
    plan = plan_scratch(RestoreMode.REQUIRED, IMAGES, family=family, version=version,
                        data_bytes=10 << 20, limit_bytes=1 << 30)
    assert plan.image == image
    assert plan.skipped == ("" if image else "NoScratchImage")


def test_a_source_over_the_limit_gets_no_scratch_server_and_says_too_large() -> None:
    plan = plan_scratch(RestoreMode.BEST_EFFORT, IMAGES, family="mysql", version="8.0.36",
                        data_bytes=(1 << 30) + 1, limit_bytes=1 << 30)
    assert (plan.image, plan.skipped) == (None, "TooLarge")
    assert plan_scratch(RestoreMode.OFF, IMAGES, family="mysql", version="8.0.36",
                        data_bytes=1, limit_bytes=1 << 30).skipped == ""


def test_the_scratch_server_is_a_native_sidecar_reachable_by_socket_only() -> None:
    plan = plan_scratch(RestoreMode.REQUIRED, IMAGES, family="mariadb", version="10.11.19",
                        data_bytes=100 << 20, limit_bytes=1 << 30)
    pod = rendered(scratch=plan)["spec"]["template"]["spec"]
    [sidecar] = pod["initContainers"]
    assert sidecar["image"] == "mariadb:10.11"
    assert sidecar["restartPolicy"] == "Always"  # ends with the worker
    assert sidecar["args"][0] == "mariadbd"
    assert "--skip-networking" in sidecar["args"]
    assert sidecar["securityContext"]["runAsNonRoot"] is True
    assert sidecar["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    # 2 x 100 MiB + 1 GiB for the server's own files
    assert volumes["scratch-data"]["emptyDir"]["sizeLimit"] == str((200 << 20) + (1 << 30))
    assert volumes["scratch-run"]["emptyDir"]["medium"] == "Memory"
    env = env_of(rendered(scratch=plan))
    assert env["TENANT_EXIT_RESTORE_SOCKET"]["value"] == "/run/scratch/mysqld.sock"
    assert env["TENANT_EXIT_RESTORE_IMAGE"]["value"] == "mariadb:10.11"
