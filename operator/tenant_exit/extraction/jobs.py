"""The run Job and the Kubernetes objects around it (operator side).

Runs execute in the operator's namespace (see api/extraction.py for why): the
S3 credentials and the pseudonymisation key are referenced there directly and
never copied; only the tenant's database credentials are copied, into a Secret
owned by the TenantExtraction (garbage-collected with it).

Owner references, labels, Events and Secret reads are the shared kube/
adapters, given the extraction's `Owner`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from kubernetes import client
from kubernetes.client import models as k

from tenant_exit.api import names
from tenant_exit.api.datamodel import DataModel, canonical_json
from tenant_exit.api.extraction import KIND, TenantExtraction
from tenant_exit.api.owner import Owner
from tenant_exit.kube import events
from tenant_exit.kube.errors import tolerate
from tenant_exit.kube.jobs import locked_down
from tenant_exit.kube.ownership import owned_labels, owner_reference
from tenant_exit.kube.secrets import database_credentials, put_secret
from tenant_exit.settings import OperatorSettings

CONTAINER = "extract"
COMPONENT = "extraction"
TERMINATION_LOG = "/dev/termination-log"
LABEL_EXTRACTION = f"{names.GROUP}/extraction"
ANNOTATION_SCHEDULED_AT = f"{names.GROUP}/scheduled-at"
EXIT_SCHEMA_DRIFT = 3


def run_job_name(extraction: str, scheduled_at: datetime) -> str:
    """Deterministic per schedule time: a pass that runs twice finds the Job (409)."""
    return f"{extraction}-{scheduled_at.astimezone(UTC):%Y%m%d%H%M}"


def credentials_secret_name(extraction: str) -> str:
    return f"{extraction}-source-credentials"


def owner_of(extraction: TenantExtraction) -> Owner:
    return Owner(api_version=names.API_VERSION, kind=KIND, name=extraction.name,
                 uid=extraction.metadata.uid, name_label=LABEL_EXTRACTION,
                 resource_version=extraction.metadata.resource_version)


def labels(extraction: TenantExtraction) -> dict[str, str]:
    return owned_labels(owner_of(extraction), COMPONENT)


def _secret_env(name: str, secret: str, key: str) -> k.V1EnvVar:
    return k.V1EnvVar(name=name, value_from=k.V1EnvVarSource(
        secret_key_ref=k.V1SecretKeySelector(name=secret, key=key)))


def build_run_job(extraction: TenantExtraction, model: DataModel, scheduled_at: datetime,
                  settings: OperatorSettings) -> k.V1Job:
    """The Job of one run; pure."""
    spec = extraction.spec
    s3 = spec.destination.s3
    recipients = spec.destination.encryption.age_recipients if spec.destination.encryption \
        else []
    plain: list[tuple[str, str | None]] = [
        ("TENANT_EXIT_EXTRACTION_NAME", extraction.name),
        ("TENANT_EXIT_SCHEDULED_AT", scheduled_at.astimezone(UTC).isoformat()),
        ("TENANT_EXIT_MODEL_NAME", model.name),
        ("TENANT_EXIT_MODEL", canonical_json(model.spec)),
        ("TENANT_EXIT_DB_HOST", spec.database.host),
        ("TENANT_EXIT_DB_PORT", str(spec.database.port)),
        ("TENANT_EXIT_DB_SCHEMA", extraction.schema_name),
        ("TENANT_EXIT_S3_BUCKET", s3.bucket),
        ("TENANT_EXIT_S3_PREFIX", s3.prefix),
        ("TENANT_EXIT_S3_ENDPOINT", s3.endpoint),
        ("TENANT_EXIT_S3_REGION", s3.region),
        ("TENANT_EXIT_AGE_RECIPIENTS", json.dumps(recipients)),
        ("TENANT_EXIT_KEY_VERSION", str(spec.pseudonymisation.key_version)),
        ("TENANT_EXIT_RETENTION", str(spec.retention)),
        ("TENANT_EXIT_CSV", json.dumps(spec.csv)),
        ("TENANT_EXIT_TERMINATION_LOG", TERMINATION_LOG),
    ]
    env = [k.V1EnvVar(name=n, value=v) for n, v in plain if v is not None]
    key = spec.pseudonymisation
    env += [
        _secret_env("TENANT_EXIT_DB_USER", credentials_secret_name(extraction.name), "username"),
        _secret_env("TENANT_EXIT_DB_PASSWORD", credentials_secret_name(extraction.name),
                    "password"),
        _secret_env("AWS_ACCESS_KEY_ID", s3.credentials_secret.name, "accessKeyId"),
        _secret_env("AWS_SECRET_ACCESS_KEY", s3.credentials_secret.name, "secretAccessKey"),
        _secret_env("TENANT_EXIT_PSEUDONYM_KEY", key.key_secret.name, f"v{key.key_version}"),
    ]
    job_labels = labels(extraction)
    container = k.V1Container(
        name=CONTAINER, image=settings.worker_image, image_pull_policy="IfNotPresent",
        command=[*settings.worker_command[:-1], "extract"], env=env,
        volume_mounts=[k.V1VolumeMount(name="tmp", mount_path="/tmp")],  # noqa: S108
        termination_message_path=TERMINATION_LOG, termination_message_policy="File",
        resources=k.V1ResourceRequirements(
            requests={"cpu": settings.worker_cpu, "memory": settings.worker_memory},
            limits={"memory": settings.worker_memory}),
        security_context=locked_down(),
    )
    pod = k.V1PodSpec(
        restart_policy="Never", automount_service_account_token=False,
        containers=[container],
        volumes=[k.V1Volume(name="tmp", empty_dir=k.V1EmptyDirVolumeSource())],
        security_context=k.V1PodSecurityContext(
            run_as_non_root=True, run_as_user=settings.worker_user,
            run_as_group=settings.worker_user,
            seccomp_profile=k.V1SeccompProfile(type="RuntimeDefault")),
    )
    return k.V1Job(
        api_version="batch/v1", kind="Job",
        metadata=k.V1ObjectMeta(
            name=run_job_name(extraction.name, scheduled_at),
            namespace=settings.operator_namespace, labels=job_labels,
            annotations={ANNOTATION_SCHEDULED_AT: scheduled_at.astimezone(UTC).isoformat()},
            owner_references=[owner_reference(owner_of(extraction))]),
        spec=k.V1JobSpec(
            backoff_limit=1,
            active_deadline_seconds=settings.job_deadline_seconds,
            # Schema drift will not heal by retrying; an eviction must not count.
            pod_failure_policy=k.V1PodFailurePolicy(rules=[
                k.V1PodFailurePolicyRule(action="FailJob", on_exit_codes=(
                    k.V1PodFailurePolicyOnExitCodesRequirement(
                        container_name=CONTAINER, operator="In", values=[EXIT_SCHEMA_DRIFT]))),
                k.V1PodFailurePolicyRule(action="Ignore", on_pod_conditions=[
                    k.V1PodFailurePolicyOnPodConditionsPattern(type="DisruptionTarget",
                                                               status="True")]),
            ]),
            template=k.V1PodTemplateSpec(metadata=k.V1ObjectMeta(labels=job_labels), spec=pod),
        ),
    )


def copy_credentials(core: client.CoreV1Api, extraction: TenantExtraction,
                     namespace: str) -> tuple[str, str]:
    """Copy the database account into the operator namespace; returns it for validation."""
    account = database_credentials(core, extraction.spec.tenant_namespace,
                                   extraction.spec.database.credentials_secret)
    username, password = account.username, account.password
    body = k.V1Secret(
        metadata=k.V1ObjectMeta(name=credentials_secret_name(extraction.name),
                                namespace=namespace, labels=labels(extraction),
                                owner_references=[owner_reference(owner_of(extraction))]),
        type="Opaque", string_data={"username": username, "password": password})
    put_secret(core, namespace, body)
    return username, password


def post_event(core: client.CoreV1Api, namespace: str, extraction: TenantExtraction,
               type: str, reason: str, message: str) -> None:
    events.post_event(core, namespace, owner_of(extraction), type, reason, message)


def delete_job(batch: client.BatchV1Api, namespace: str, name: str) -> None:
    with tolerate(404):
        batch.delete_namespaced_job(name, namespace, propagation_policy="Background")
