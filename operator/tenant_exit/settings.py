"""The operator's configuration: one typed object read from `TENANT_EXIT_*` env.

The backup worker has its own settings (same prefix, other fields); this object
is the operator's side only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tenant_exit.api.restore import RestoreMode


class OperatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENANT_EXIT_", frozen=True)

    operator_namespace: str = "tenant-exit-system"
    """Namespace the operator runs in: never exited, holds the revert records and
    (by default) the only place S3 credentials are copied from."""
    credential_namespaces: list[str] = []
    """Further namespaces spec.destination.s3.credentialsSecret may point to. Copying
    a Secret from an arbitrary namespace would let any TenantExit author read it."""

    worker_image: str = "tenant-exit-operator:0.1.0"
    """Image of the backup Job (the operator image itself)."""
    worker_command: list[str] = ["tenant-exit", "worker", "backup"]
    """Command of the backup container."""
    worker_user: int = 65532
    """Numeric, non-root UID the worker runs as (restricted Pod Security)."""
    worker_supplemental_groups: list[int] = []
    """Groups that may read the document volumes. No fsGroup is set on purpose: it
    would make the kubelet chown every tenant document on mount."""
    worker_cpu: str = "1"
    worker_memory: str = "1Gi"
    job_deadline_seconds: Annotated[int, Field(ge=60)] = 6 * 3600
    """activeDeadlineSeconds of the backup Job: bounds a hung dump."""
    upload_session_seconds: Annotated[int, Field(ge=900, le=12 * 3600)] = 3600
    """Length of the backup Job's upload session (uploadCredentials Scoped). AWS allows
    up to the role's MaxSessionDuration (default 1h); the operator renews the session
    while the Job runs once less than a third of it is left."""
    presigned_part_window: Annotated[int, Field(ge=4, le=1000)] = 64
    """Part URLs presigned per object at a time (uploadCredentials Presigned); fewer
    when that many would not fit the 1 MiB Secret. The operator tops the window up
    while the Job runs once the uploaded parts come within half of it of its end."""
    presigned_part_size_mib: Annotated[int, Field(ge=5, le=1024)] = 32
    """First part size with uploadCredentials Presigned (larger than with keys: each
    window then covers more bytes between top-ups); doubles every 1,000 parts."""
    job_backoff_limit: Annotated[int, Field(ge=0)] = 3
    """Pod failures a backup Job may have before it fails (evictions do not count)."""

    verify_command: list[str] = ["tenant-exit", "worker", "verify"]
    """Command of the verify Job (same image), which reads a finished backup back."""
    verify_cpu: str = "500m"
    verify_memory: str = "256Mi"
    """The verify Job streams each object through SHA-256: its memory does not grow
    with the backup."""
    verify_deadline_seconds: Annotated[int, Field(ge=60, le=7 * 24 * 3600)] = 6 * 3600
    """activeDeadlineSeconds of the verify Job, and how long its read links are valid
    (SigV4 allows at most 7 days)."""
    restore_mode: RestoreMode = RestoreMode.REQUIRED
    """Platform default of spec.verification.restore (chart: restoreVerification.mode)."""
    restore_max_data_bytes: Annotated[int, Field(ge=0)] = 50 << 30
    """Largest source (data + index bytes of the dumped schemas, from
    information_schema) a scratch server loads; larger: TooLarge. The scratch
    emptyDir's sizeLimit is twice the source's bytes plus 1 GiB, at most twice this
    plus 1 GiB (chart: restoreVerification.maxDataBytes)."""
    restore_images: dict[str, str] = {
        "mysql-5.7": "mysql:5.7", "mysql-8.0": "mysql:8.0", "mysql-8.4": "mysql:8.4",
        "mysql-9": "mysql:9", "mariadb-10.6": "mariadb:10.6", "mariadb-10.11": "mariadb:10.11",
        "mariadb-11.4": "mariadb:11.4", "mariadb-11.8": "mariadb:11.8",
    }
    """Scratch server images by `<family>-<major>.<minor>` or `<family>-<major>` of the
    source (chart: restoreVerification.images, JSON in TENANT_EXIT_RESTORE_IMAGES)."""
    restore_cpu: str = "500m"
    restore_memory: str = "1Gi"
    """Requests (and memory limit) of the scratch server container."""

    max_backup_attempts: Annotated[int, Field(ge=1)] = 5
    """Backup Jobs (attempts) before the exit stalls and waits for a spec change."""
    backup_retry_seconds: Annotated[float, Field(gt=0)] = 30.0
    """Wait before attempt n+1: this * 2**(n-1) after attempt n finished, at most
    backup_retry_max_seconds."""
    backup_retry_max_seconds: Annotated[float, Field(gt=0)] = 3600.0
    """Cap of the wait between two backup attempts."""
    download_link_seconds: Annotated[int, Field(ge=60, le=7 * 24 * 3600)] = 7 * 24 * 3600
    """Validity of the presigned download links (SigV4 allows at most 7 days); the
    operator renews them while the exit waits for the receipt."""

    object_lock_mode: Literal["COMPLIANCE", "GOVERNANCE"] = "COMPLIANCE"
    """Object Lock mode of the backup's retention in a bucket with Object Lock enabled
    (docs/security.md, "Object Lock"); buckets without it get none."""
    object_lock_margin_seconds: Annotated[int, Field(ge=0)] = 24 * 3600
    """Added to the retention's end: the grace period must be over, and the deletion
    done, well before the archive may go."""

    resync_seconds: Annotated[float, Field(gt=0)] = 30.0
    """How often each exit is re-examined (waiting for readOnly.until, drift of guards)."""
    watch_cache: bool = True
    """Watch namespaces, claims and volumes cluster-wide, so a pass with nothing to do
    reads them from memory instead of the API (a pass that acts reads them again)."""
    retry_base_seconds: Annotated[float, Field(gt=0)] = 5.0
    retry_max_seconds: Annotated[float, Field(gt=0)] = 300.0
    """Backoff after a failed pass: base * 2**retry, capped."""

    events_namespace: str = "default"
    """Events about a cluster-scoped object must live in `default`."""
    liveness_port: int = 8080
    """`GET /healthz` on this port answers while the operator is healthy."""
    metrics_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """`GET /metrics` (Prometheus text format) on this port; the chart sets it. Unset:
    no metrics endpoint, so several operators on one host (tests) need no free port."""
    peering_name: str | None = None
    """kopf peering object; replicas with a lower priority stand by (kopf peering is
    not leader election: give replicas different priorities)."""
    priority: int = 0
    log_format: Literal["json", "plain"] = "json"

    def allowed_credential_namespaces(self) -> tuple[str, ...]:
        return (self.operator_namespace, *self.credential_namespaces)

    def retry_delay(self, retry: int) -> float:
        return float(min(self.retry_base_seconds * 2**retry, self.retry_max_seconds))
