"""The verify Job: a pure builder, its plan Secret, and an idempotent create.

It runs in the operator's namespace (it mounts nothing of the tenant's) with
the operator's image, and reads the backup through the presigned GET links of
its plan Secret: no S3 key reaches it, and a link reads one object only, until
it expires. The operator's process never holds an object's bytes, so its memory
and network stay flat whatever the backup's size (issue 15).
"""

from __future__ import annotations

from kubernetes import client
from kubernetes.client import models as k

from tenant_exit.api import names
from tenant_exit.api.owner import Owner
from tenant_exit.api.verify_result import PLAN_KEY, VerifyPlan
from tenant_exit.kube.jobs import TERMINATION_LOG, ensure_job, locked_down
from tenant_exit.kube.ownership import owned_labels, owner_reference
from tenant_exit.kube.secrets import put_secret
from tenant_exit.settings import OperatorSettings

CONTAINER = "verify"


def build_plan_secret(owner: Owner, attempt: int, namespace: str,
                      plan: VerifyPlan) -> k.V1Secret:
    """The links are bearer credentials: a Secret, owned by the exit (collected with it)."""
    return k.V1Secret(
        metadata=k.V1ObjectMeta(name=names.verify_job_name(owner.name, attempt),
                                namespace=namespace, labels=owned_labels(owner, CONTAINER),
                                owner_references=[owner_reference(owner)]),
        type="Opaque",
        string_data={PLAN_KEY: plan.to_json()},
    )


def build_verify_job(owner: Owner, attempt: int, settings: OperatorSettings) -> k.V1Job:
    """The Job that reads attempt `attempt`'s backup back; pure."""
    name = names.verify_job_name(owner.name, attempt)
    labels = owned_labels(owner, CONTAINER)
    container = k.V1Container(
        name=CONTAINER,
        image=settings.worker_image,
        image_pull_policy="IfNotPresent",
        command=list(settings.verify_command),
        env=[
            k.V1EnvVar(name="TENANT_EXIT_TERMINATION_LOG", value=TERMINATION_LOG),
            k.V1EnvVar(name="TENANT_EXIT_VERIFY_PLAN", value_from=k.V1EnvVarSource(
                secret_key_ref=k.V1SecretKeySelector(name=name, key=PLAN_KEY))),
        ],
        termination_message_path=TERMINATION_LOG,
        termination_message_policy="File",
        resources=k.V1ResourceRequirements(
            requests={"cpu": settings.verify_cpu, "memory": settings.verify_memory},
            limits={"memory": settings.verify_memory},
        ),
        security_context=locked_down(),
    )
    pod = k.V1PodSpec(
        restart_policy="Never",
        automount_service_account_token=False,  # it reads links, never the API
        containers=[container],
        security_context=k.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=settings.worker_user,
            run_as_group=settings.worker_user,
            seccomp_profile=k.V1SeccompProfile(type="RuntimeDefault"),
        ),
    )
    return k.V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=k.V1ObjectMeta(name=name, namespace=settings.operator_namespace,
                                labels=labels, owner_references=[owner_reference(owner)]),
        spec=k.V1JobSpec(
            # A pod killed mid-read is replaced; the next one starts from the manifest.
            backoff_limit=settings.job_backoff_limit,
            active_deadline_seconds=settings.verify_deadline_seconds,
            pod_failure_policy=k.V1PodFailurePolicy(rules=[k.V1PodFailurePolicyRule(
                action="Ignore",
                on_pod_conditions=[k.V1PodFailurePolicyOnPodConditionsPattern(
                    type="DisruptionTarget", status="True")])]),
            template=k.V1PodTemplateSpec(metadata=k.V1ObjectMeta(labels=labels), spec=pod),
        ),
    )


def start_verify_job(core: client.CoreV1Api, batch: client.BatchV1Api, owner: Owner,
                     attempt: int, plan: VerifyPlan, settings: OperatorSettings) -> None:
    """Plan Secret first (the Job's pod needs it), then the Job unless it exists.
    A re-run replaces the Secret with fresh links and finds the Job (409)."""
    namespace = settings.operator_namespace
    put_secret(core, namespace, build_plan_secret(owner, attempt, namespace, plan))
    ensure_job(batch, build_verify_job(owner, attempt, settings))
