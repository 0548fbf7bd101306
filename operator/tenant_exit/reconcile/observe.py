"""Read what the decisions need from the cluster into an `Observed`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pymysql
from kubernetes.client import models as k
from pydantic import ValidationError

from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.spec import DatabaseReadOnlyMode, UploadCredentials
from tenant_exit.api.status import Phase
from tenant_exit.kube import appflag, claims, destruction, guards, jobs, policies, secrets, volumes
from tenant_exit.kube.cache import NotCached
from tenant_exit.kube.exits import exits_for_namespace
from tenant_exit.kube.secrets import SecretProblem
from tenant_exit.mysql import freeze
from tenant_exit.mysql.accounts import Account
from tenant_exit.mysql.connect import DatabaseUnavailable
from tenant_exit.mysql.grants import GrantProblem
from tenant_exit.phases.backup_outcome import already_rejected
from tenant_exit.phases.backup_running import current_attempt
from tenant_exit.phases.deleting import archive_check_due
from tenant_exit.phases.guards import guard_check_due, rivals
from tenant_exit.phases.observed import (
    BackupCheck,
    BackupPolicy,
    DestructionSeen,
    FreezeSeen,
    JobState,
    NamespaceState,
    Observed,
    PresignedSeen,
    VolumeSeen,
)
from tenant_exit.reconcile import backup_store, presigned
from tenant_exit.reconcile.context import Context
from tenant_exit.reconcile.database import connection as database_connection

_JOB_PHASES = {Phase.BACKUP_RUNNING, Phase.AWAITING_RECEIPT}


def observe(exit: TenantExit, ctx: Context, now: datetime, cached: bool = False) -> Observed:
    """`cached`: the namespace, its claims and volumes from ctx.cache (raises
    NotCached when it cannot answer). Only for deciding that nothing needs doing."""
    namespace = exit.spec.tenant_namespace
    read_only = exit.spec.read_only
    flag = read_only.app_flag if read_only else None
    job = _job(exit, ctx) if exit.status.phase in _JOB_PHASES else None
    if exit.status.phase is Phase.DELETING:
        flag = None  # the namespace is going; its ConfigMaps are no longer read
    check = _backup_check(exit, ctx, job)
    return Observed(
        now=now,
        operator_namespace=ctx.settings.operator_namespace,
        namespace=_namespace(ctx, namespace, cached),
        rivals=rivals(exit, _others(exit, ctx)) if exit.status.phase is None else (),
        app_flag_value=appflag.read_flag(ctx.core, namespace, flag) if flag else None,
        backup_job=job,
        credential_namespaces=ctx.credential_namespaces(),
        backup_check=check,
        verify_job=_verify_job(exit, ctx) if check is not None and check.ok else None,
        destruction=_destruction(exit, ctx) if exit.status.phase is Phase.DELETING else None,
        earlier_manifest=_earlier_manifest(exit, ctx),
        archive=backup_store.read_archive(exit, ctx) if archive_check_due(exit) else None,
        upload_session_ends=_upload_session_ends(exit, ctx, job),
        upload_session_length=timedelta(seconds=ctx.settings.upload_session_seconds),
        presigned=_presigned_window(exit, ctx, job),
        presigned_leftovers=_presigned_leftovers(exit, ctx, job),
        freeze=_freeze(exit, ctx, job, now),
        guard_problems=(tuple(policies.guard_problems(ctx.core.api_client))
                        if guard_check_due(exit, now) else None),
        backup_policy=BackupPolicy(
            max_attempts=ctx.settings.max_backup_attempts,
            retry_after=timedelta(seconds=ctx.settings.backup_retry_seconds),
            retry_max=timedelta(seconds=ctx.settings.backup_retry_max_seconds),
            links_valid_for=timedelta(seconds=ctx.download_link_seconds()),
            restore_default=ctx.settings.restore_mode,
            retention_margin=timedelta(seconds=ctx.settings.object_lock_margin_seconds),
        ),
    )


def _upload_session_ends(exit: TenantExit, ctx: Context,
                         job: JobState | None) -> datetime | None:
    """The end of the running Job's upload session, read only while it may need one."""
    if (exit.status.phase is not Phase.BACKUP_RUNNING or job is None or job.succeeded
            or job.failed or exit.spec.destination is None or exit.spec.destination.s3 is None
            or exit.spec.destination.s3.upload_credentials is not UploadCredentials.SCOPED):
        return None
    return secrets.upload_expiration(ctx.core, exit.name, exit.spec.tenant_namespace)


def _presigned_job(exit: TenantExit, job: JobState | None) -> bool:
    """A Job of BackupRunning that writes through presigned URLs."""
    return (exit.status.phase is Phase.BACKUP_RUNNING and job is not None
            and exit.spec.destination is not None and exit.spec.destination.s3 is not None
            and exit.spec.destination.s3.upload_credentials is UploadCredentials.PRESIGNED)


def _presigned_window(exit: TenantExit, ctx: Context,
                      job: JobState | None) -> PresignedSeen | None:
    """While a presigned Job runs: how far its uploads got, for the top-up."""
    if not _presigned_job(exit, job) or job is None or job.succeeded or job.failed:
        return None
    return presigned.window_seen(exit, ctx, current_attempt(exit))


def _presigned_leftovers(exit: TenantExit, ctx: Context, job: JobState | None) -> int | None:
    """Once a presigned Job ended: the unfinished uploads of its attempt."""
    if not _presigned_job(exit, job) or job is None or not (job.succeeded or job.failed):
        return None
    return presigned.leftovers(exit, ctx, current_attempt(exit))


def _freeze(exit: TenantExit, ctx: Context, job: JobState | None,
            now: datetime) -> FreezeSeen | None:
    """Read back only when a backup Job is about to be created: in BackupRunning
    without the current attempt's Job, or at the end of the licence period."""
    mode = exit.spec.freeze_mode()
    if mode is DatabaseReadOnlyMode.NONE:
        return None
    phase = exit.status.phase
    until = exit.spec.read_only.until if exit.spec.read_only else None
    starting = ((phase is Phase.BACKUP_RUNNING and job is None)
                or (phase is Phase.READ_ONLY_LICENSED and (until is None or now >= until)))
    if not starting:
        return None
    listed = exit.spec.read_only.accounts if exit.spec.read_only else []
    try:
        with database_connection(exit, ctx) as conn:
            problems = freeze.freeze_problems(
                conn, mode, list(exit.spec.database.databases),
                [Account.parse(x) for x in listed] or None)
    except (pymysql.err.MySQLError, DatabaseUnavailable, GrantProblem, SecretProblem) as error:
        return FreezeSeen(problems=(f"cannot read the freeze back from "
                                    f"{exit.spec.database.host}:{exit.spec.database.port}: "
                                    f"{error}",))
    return FreezeSeen(problems=tuple(problems))


def _earlier_manifest(exit: TenantExit, ctx: Context) -> str | None:
    """Only for a receipt that does not quote the current backup: is it an old one's?"""
    receipt, backup = exit.spec.receipt, exit.status.backup
    if (exit.status.phase is not Phase.AWAITING_RECEIPT or receipt is None or backup is None
            or receipt.manifest_sha256 == backup.manifest_sha256):
        return None
    return backup_store.earlier_manifest(exit, ctx, receipt.manifest_sha256)


def _backup_check(exit: TenantExit, ctx: Context, job: JobState | None) -> BackupCheck | None:
    """Only a succeeded Job of a running backup is checked, once: a backup already
    found not to match (recorded in status) is not read again (nor its verify Job
    started) while the next attempt waits for its backoff."""
    if exit.status.phase is not Phase.BACKUP_RUNNING or job is None or not job.succeeded:
        return None
    if already_rejected(exit, job.name) is not None:
        return None
    return backup_store.check_backup(exit, ctx, job)


def _verify_job(exit: TenantExit, ctx: Context) -> JobState | None:
    """The verify Job of the current attempt in the operator's namespace, with its
    result once it finished."""
    namespace = ctx.settings.operator_namespace
    name = names.verify_job_name(exit.name, current_attempt(exit))
    job = jobs.read_job(ctx.batch, namespace, name)
    if job is None:
        return None
    state = job_state(job)
    if state.succeeded or state.failed:
        message = jobs.termination_message(ctx.core, namespace, name, succeeded=state.succeeded)
        state = replace(state, termination_message=message)
    return state


def _destruction(exit: TenantExit, ctx: Context) -> DestructionSeen:
    """By identity: the namespace with the recorded UID, the volumes of recorded claims."""
    tenant = exit.status.tenant
    deleting = exit.status.deletion
    recorded = [v.claim_uid for v in tenant.volumes] if tenant else []
    recorded += [v.claim_uid for v in (deleting.volumes or [] if deleting else [])
                 if v.claim_uid]
    uid = (tenant.namespace_uid if tenant else None) or (deleting.namespace_uid if deleting
                                                          else None)
    seen = destruction.survey(ctx.core, exit.spec.tenant_namespace, uid, recorded)
    return DestructionSeen(
        namespace_exists=seen.namespace_exists,
        namespace_uid=seen.namespace_uid,
        contents_remaining=seen.contents_remaining,
        bound_volumes=tuple(_seen(v) for v in seen.bound_volumes),
        present_volumes=seen.present_volumes,
        other_namespace_uid=seen.other_namespace_uid,
    )


def _seen(volume: volumes.TenantVolume) -> VolumeSeen:
    return VolumeSeen(volume.persistent_volume, volume.claim, volume.capacity, volume.claim_uid)


def _others(exit: TenantExit, ctx: Context) -> list[TenantExit]:
    """The TenantExits for the same namespace that validate; one that does not cannot
    claim a namespace. Only those are listed: a list of every exit on every first
    pass made N first passes cost O(N^2) (issue 15)."""
    found = []
    for body in exits_for_namespace(ctx.custom, exit.spec.tenant_namespace):
        try:
            found.append(TenantExit.from_body(body))
        except ValidationError:
            continue
    return found


def _namespace(ctx: Context, name: str, cached: bool) -> NamespaceState | None:
    if cached:
        if ctx.cache is None:
            raise NotCached(name)
        seen = ctx.cache.guards(name)
    else:
        seen = guards.read_guards(ctx.core, name)
    if seen is None:
        return None
    return NamespaceState(
        name=name,
        terminating=seen.terminating,
        guarded_by=seen.exit,
        has_finalizer=seen.has_finalizer,
        deletion_label=seen.deletion,
        phase_annotation=seen.phase,
        unretained_volumes=tuple(v.persistent_volume for v in seen.volumes
                                 if v.reclaim_policy != volumes.RETAIN),
        uid=seen.uid,
        volumes=tuple(_seen(v) for v in seen.volumes),
    )


def _job(exit: TenantExit, ctx: Context) -> JobState | None:
    name = names.backup_job_name(exit.name, current_attempt(exit))
    job = jobs.read_job(ctx.batch, exit.spec.tenant_namespace, name)
    if job is None:
        return None
    state = job_state(job)
    if state.succeeded or state.failed:
        message = jobs.termination_message(
            ctx.core, exit.spec.tenant_namespace, name, succeeded=state.succeeded
        )
        state = replace(state, termination_message=message)
    elif exit.status.phase is Phase.BACKUP_RUNNING:
        pending = claims.pending_backup_pod(ctx.core, exit.spec.tenant_namespace, name)
        if pending is not None:
            state = replace(state, pending_since=pending.since, claim_holders=pending.holders)
    return state


def job_state(job: k.V1Job) -> JobState:
    status = job.status or k.V1JobStatus()
    conditions = {c.type: c for c in status.conditions or [] if c.status == "True"}
    failed = conditions.get("Failed")
    complete = conditions.get("Complete")
    finished = complete or failed
    return JobState(
        name=job.metadata.name,
        created_at=job.metadata.creation_timestamp,
        active=status.active or 0,
        succeeded=complete is not None,
        failed=failed is not None,
        failure_message=(failed.message or failed.reason or "") if failed else "",
        finished_at=(finished.last_transition_time if finished else None),
    )
