"""The backup Job: a pure builder and an idempotent create-or-get.

The Job runs in the tenant namespace because a pod can mount only its own
namespace's claims (docs/architecture.md, "The worker"). Its environment is the
worker's contract: the worker's settings read exactly these TENANT_EXIT_* variables.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kubernetes import client
from kubernetes.client import models as k

from tenant_exit.api import names
from tenant_exit.api.owner import Owner
from tenant_exit.api.restore import (
    SCRATCH_DATADIR,
    SCRATCH_SOCKET,
    SCRATCH_SOCKET_DIR,
    RestoreMode,
    ScratchPlan,
)
from tenant_exit.api.spec import (
    Database,
    DatabaseReadOnlyMode,
    Destination,
    DocumentVolume,
    Request,
)
from tenant_exit.kube.errors import tolerate
from tenant_exit.kube.ownership import owned_labels, owner_reference
from tenant_exit.kube.secrets import s3_secret_name
from tenant_exit.settings import OperatorSettings

CONTAINER = "backup"
OFF = ScratchPlan(RestoreMode.OFF)
SCRATCH_CONTAINER = "scratch"
DOCUMENTS_ROOT = "/data/documents"
TERMINATION_LOG = "/dev/termination-log"
S3_CREDENTIALS_VOLUME = "upload-credentials"
S3_CREDENTIALS_DIR = "/var/run/tenant-exit/upload-credentials"


def locked_down(**extra: int) -> k.V1SecurityContext:
    """The container security every Job of ours runs with: no privilege escalation,
    a read-only root, non-root, no capabilities; `extra` adds e.g. a fixed user."""
    return k.V1SecurityContext(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        capabilities=k.V1Capabilities(drop=["ALL"]),
        **extra,
    )


@dataclass(frozen=True)
class BackupTerms:
    """What a backup Job reads and where it writes, apart from whose it is."""

    namespace: str
    """Where the Job runs: the namespace of the claims it mounts."""
    database: Database
    documents: Sequence[DocumentVolume]
    destination: Destination
    request: Request | None = None
    """The customer's request (spec.request), recorded in the manifest."""
    scratch: ScratchPlan = OFF
    """The restore verification's scratch server (issue 13)."""
    off_reason: str | None = None
    """spec.verification.offReason, for the manifest when the mode is Off."""
    freeze_mode: DatabaseReadOnlyMode = DatabaseReadOnlyMode.REVOKE_WRITES
    """How writes were frozen before the Job (read back in force unless None)."""
    freeze_acknowledgement: str | None = None
    """With freeze_mode None: spec.readOnly.writesNotFrozenAcknowledgement."""
    object_lock: tuple[str, datetime] | None = None
    """Object Lock mode and retain-until date every object is written with (None:
    the bucket has no Object Lock)."""


def build_backup_job(owner: Owner, terms: BackupTerms, attempt: int,
                     settings: OperatorSettings) -> k.V1Job:
    """The Job of one backup attempt; pure, so the same inputs give the same Job."""
    labels = owned_labels(owner, CONTAINER)
    claims = [d.claim_name for d in terms.documents]
    volumes = [
        k.V1Volume(name="tmp", empty_dir=k.V1EmptyDirVolumeSource()),
        # A volume, not env: kubelet updates a mounted Secret in place, so the
        # session the operator renews while the Job runs reaches the worker.
        k.V1Volume(name=S3_CREDENTIALS_VOLUME, secret=k.V1SecretVolumeSource(
            secret_name=s3_secret_name(owner.name), default_mode=0o444)),
    ]
    mounts = [
        k.V1VolumeMount(name="tmp", mount_path="/tmp"),  # noqa: S108 - read-only root fs
        k.V1VolumeMount(name=S3_CREDENTIALS_VOLUME, mount_path=S3_CREDENTIALS_DIR,
                        read_only=True),
    ]
    for index, claim in enumerate(claims):
        volumes.append(
            k.V1Volume(
                name=f"documents-{index}",
                persistent_volume_claim=k.V1PersistentVolumeClaimVolumeSource(
                    claim_name=claim, read_only=True
                ),
            )
        )
        mounts.append(
            k.V1VolumeMount(
                name=f"documents-{index}", mount_path=f"{DOCUMENTS_ROOT}/{claim}", read_only=True
            )
        )
    scratch = terms.scratch
    sidecars: list[k.V1Container] = []
    if scratch.image is not None:
        volumes += scratch_volumes(scratch)
        mounts.append(k.V1VolumeMount(name="scratch-run", mount_path=SCRATCH_SOCKET_DIR))
        sidecars.append(scratch_container(scratch, settings))
    container = k.V1Container(
        name=CONTAINER,
        image=settings.worker_image,
        image_pull_policy="IfNotPresent",
        command=list(settings.worker_command),
        env=worker_env(owner, terms, attempt),
        volume_mounts=mounts,
        termination_message_path=TERMINATION_LOG,
        termination_message_policy="File",
        resources=k.V1ResourceRequirements(
            requests={"cpu": settings.worker_cpu, "memory": settings.worker_memory},
            limits={"memory": settings.worker_memory},
        ),
        security_context=locked_down(),
    )
    pod = k.V1PodSpec(
        restart_policy="Never",
        automount_service_account_token=False,  # the worker never calls the API
        containers=[container],
        init_containers=sidecars or None,
        volumes=volumes,
        security_context=k.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=settings.worker_user,
            run_as_group=settings.worker_user,
            supplemental_groups=list(settings.worker_supplemental_groups) or None,
            seccomp_profile=k.V1SeccompProfile(type="RuntimeDefault"),
        ),
    )
    return k.V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=k.V1ObjectMeta(
            name=names.backup_job_name(owner.name, attempt),
            namespace=terms.namespace,
            labels=labels,
            owner_references=[owner_reference(owner)],
        ),
        spec=k.V1JobSpec(
            backoff_limit=settings.job_backoff_limit,
            active_deadline_seconds=settings.job_deadline_seconds,
            # A pod evicted by a drain must not burn the backoff budget.
            pod_failure_policy=k.V1PodFailurePolicy(
                rules=[
                    k.V1PodFailurePolicyRule(
                        action="Ignore",
                        on_pod_conditions=[
                            k.V1PodFailurePolicyOnPodConditionsPattern(
                                type="DisruptionTarget", status="True"
                            )
                        ],
                    )
                ]
            ),
            template=k.V1PodTemplateSpec(metadata=k.V1ObjectMeta(labels=labels), spec=pod),
        ),
    )


def scratch_volumes(scratch: ScratchPlan) -> list[k.V1Volume]:
    # The datadir is the only place the plaintext rests, and it goes with the pod;
    # the socket directory is tmpfs (a socket needs no disk).
    return [
        k.V1Volume(name="scratch-data",
                   empty_dir=k.V1EmptyDirVolumeSource(size_limit=str(scratch.volume_bytes))),
        k.V1Volume(name="scratch-run", empty_dir=k.V1EmptyDirVolumeSource(medium="Memory",
                                                                          size_limit="1Mi")),
        k.V1Volume(name="scratch-tmp", empty_dir=k.V1EmptyDirVolumeSource()),
    ]


SCRATCH_SERVER_OPTIONS = (
    f"--datadir={SCRATCH_DATADIR}",
    f"--socket={SCRATCH_SOCKET}",
    "--skip-networking",
    "--tmpdir=/tmp",
    "--skip-log-bin",
    "--max-allowed-packet=1G",
    "--character-set-server=utf8mb4",
    # Disposable data: durability traded for load speed.
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=OFF",
    "--performance-schema=OFF",
    "--event-scheduler=OFF",
)
"""The scratch server: reachable through the pod's unix socket only (no TCP), no
binary log, events not run (they would change the loaded data).

Measured and left out (MariaDB 10.11, a 295 MB dump through the plain client, CPU
of server and client): a 256 MiB buffer pool, a 256 MiB redo log and persistent
statistics off changed nothing (server 11.5-13.1 CPU-s against 11.6-11.9 as
here, client ~5.3 either way); `autocommit=0` for the load (MariaDB's bulk insert
into an empty table) doubled the server's CPU on 33 MB (3.8-4.1 against 1.5-1.8
CPU-s). What a load costs is the client parsing and the server executing each
statement in turn on one connection (bench/run.py, restore_required_vs_without)."""


def scratch_container(scratch: ScratchPlan, settings: OperatorSettings) -> k.V1Container:
    """A native sidecar (an init container with restartPolicy Always): it starts
    before the worker and the pod completes when the worker does."""
    mariadb = scratch.family == "mariadb"
    server = "mariadbd" if mariadb else "mysqld"
    # The official images initialise an empty datadir with a password-less root
    # that, with --skip-networking, only a process in this pod can reach.
    empty_root = "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" if mariadb else "MYSQL_ALLOW_EMPTY_PASSWORD"
    return k.V1Container(
        name=SCRATCH_CONTAINER,
        image=scratch.image,
        image_pull_policy="IfNotPresent",
        restart_policy="Always",
        args=[server, *SCRATCH_SERVER_OPTIONS],
        env=[k.V1EnvVar(name=empty_root, value="yes")],
        volume_mounts=[
            k.V1VolumeMount(name="scratch-data", mount_path=SCRATCH_DATADIR),
            k.V1VolumeMount(name="scratch-run", mount_path=SCRATCH_SOCKET_DIR),
            k.V1VolumeMount(name="scratch-tmp", mount_path="/tmp"),  # noqa: S108
        ],
        resources=k.V1ResourceRequirements(
            requests={"cpu": settings.restore_cpu, "memory": settings.restore_memory},
            limits={"memory": settings.restore_memory},
        ),
        # The official images' mysql user; their entrypoint runs as it unchanged.
        security_context=locked_down(run_as_user=999, run_as_group=999),
    )


def restore_env(terms: BackupTerms) -> list[tuple[str, str | None]]:
    scratch = terms.scratch
    return [
        ("TENANT_EXIT_RESTORE_MODE", scratch.mode.value),
        ("TENANT_EXIT_RESTORE_IMAGE", scratch.image),
        ("TENANT_EXIT_RESTORE_SOCKET", SCRATCH_SOCKET if scratch.image else None),
        ("TENANT_EXIT_RESTORE_SKIPPED", scratch.skipped or None),
        ("TENANT_EXIT_RESTORE_MAX_DATA_BYTES", str(scratch.limit_bytes)),
        ("TENANT_EXIT_RESTORE_OFF_REASON",
         terms.off_reason if scratch.mode is RestoreMode.OFF else None),
    ]


def worker_env(owner: Owner, terms: BackupTerms, attempt: int) -> list[k.V1EnvVar]:
    db = terms.database
    destination = terms.destination
    s3 = destination.store
    documents = [
        {"name": d.claim_name, "path": f"{DOCUMENTS_ROOT}/{d.claim_name}", "exclude": d.exclude}
        for d in terms.documents
    ]
    plain: list[tuple[str, str | None]] = [
        ("TENANT_EXIT_EXIT_NAME", owner.name),
        # Issue 10: the UID is in every object key and in the manifest, so a
        # re-created exit of the same name never adopts the old one's backup.
        ("TENANT_EXIT_EXIT_UID", owner.uid),
        ("TENANT_EXIT_ATTEMPT", str(attempt)),
        ("TENANT_EXIT_DB_HOST", db.host),
        ("TENANT_EXIT_DB_PORT", str(db.port)),
        ("TENANT_EXIT_DB_DATABASES", json.dumps(db.databases)),
        ("TENANT_EXIT_DB_EXCLUDE_TABLES", json.dumps(db.exclude_tables)),
        ("TENANT_EXIT_DOCUMENTS", json.dumps(documents)),
        ("TENANT_EXIT_S3_BUCKET", s3.bucket),
        ("TENANT_EXIT_S3_PREFIX", s3.prefix),
        ("TENANT_EXIT_S3_ENDPOINT", s3.endpoint),
        ("TENANT_EXIT_S3_REGION", s3.region),
        ("TENANT_EXIT_S3_CREDENTIALS_DIR", S3_CREDENTIALS_DIR),
        # Presigned: the mounted Secret holds URLs, not keys (storage.presigned_file).
        ("TENANT_EXIT_S3_UPLOAD_CREDENTIALS", s3.upload_credentials.value),
        ("TENANT_EXIT_AGE_RECIPIENTS", json.dumps(destination.encryption.age_recipients)),
        ("TENANT_EXIT_TERMINATION_LOG", TERMINATION_LOG),
        ("TENANT_EXIT_REQUEST", request_json(terms.request)),
        *restore_env(terms),
        ("TENANT_EXIT_FREEZE", json.dumps({"mode": terms.freeze_mode.value,
                                           "acknowledgement": terms.freeze_acknowledgement})),
        ("TENANT_EXIT_OBJECT_LOCK", json.dumps({
            "mode": terms.object_lock[0], "retainUntil": terms.object_lock[1].isoformat()})
         if terms.object_lock else None),
    ]
    env = [k.V1EnvVar(name=name, value=value) for name, value in plain if value is not None]
    secret_refs = [
        ("TENANT_EXIT_DB_USER", db.credentials_secret, "username"),
        ("TENANT_EXIT_DB_PASSWORD", db.credentials_secret, "password"),
    ]
    env += [
        k.V1EnvVar(
            name=name,
            value_from=k.V1EnvVarSource(
                secret_key_ref=k.V1SecretKeySelector(name=secret, key=key)
            ),
        )
        for name, secret, key in secret_refs
    ]
    return env


def request_json(request: Request | None) -> str | None:
    """spec.request as the worker reads it: JSON with the API's camelCase keys."""
    if request is None:
        return None
    return json.dumps({"ticket": request.ticket, "requestedBy": request.requested_by,
                       "requestedAt": request.requested_at.isoformat()})


def ensure_job(batch: client.BatchV1Api, job: k.V1Job) -> None:
    """Create the Job unless it exists (a re-run after a crash finds it: 409)."""
    with tolerate(409):
        batch.create_namespaced_job(job.metadata.namespace, job)


def read_job(batch: client.BatchV1Api, namespace: str, name: str) -> k.V1Job | None:
    with tolerate(404):
        job: k.V1Job = batch.read_namespaced_job(name, namespace)
        return job
    return None


def termination_message(core: client.CoreV1Api, namespace: str, job_name: str, *,
                        succeeded: bool) -> str:
    """The worker's termination message: from the succeeded pod of a complete Job,
    else from the most recently finished pod of a failed one ("" when none)."""
    pods = core.list_namespaced_pod(
        namespace, label_selector=f"batch.kubernetes.io/job-name={job_name}"
    ).items
    wanted = "Succeeded" if succeeded else "Failed"
    messages: list[tuple[str, str]] = []
    for pod in pods:
        if (pod.status and pod.status.phase) != wanted:
            continue
        for container in pod.status.container_statuses or []:
            done = container.state.terminated if container.state else None
            if done is not None and done.message:
                messages.append((str(done.finished_at or ""), done.message.strip()))
    return max(messages)[1] if messages else ""
