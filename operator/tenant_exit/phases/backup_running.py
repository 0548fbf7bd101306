"""BackupRunning: the backup Job runs in the tenant namespace.

Here: create the Job of the current attempt once, deterministically named;
what follows a finished Job is decided in `backup_outcome`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tenant_exit.api import conditions as c
from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.spec import DatabaseReadOnlyMode
from tenant_exit.api.status import ConditionStatus, Phase
from tenant_exit.api.terms import terms_from_spec
from tenant_exit.phases.actions import (
    AbortUnfinishedUploads,
    Action,
    CopyS3Credentials,
    CreateBackupJob,
    RecordBackupJob,
    RecordTerms,
    SetCondition,
    SetPhase,
)
from tenant_exit.phases.backup_outcome import decide_outcome
from tenant_exit.phases.guards import keep_guards
from tenant_exit.phases.observed import JobState, Observed, PresignedSeen
from tenant_exit.phases.read_only import keep_read_only

PHASE = Phase.BACKUP_RUNNING
PENDING_PATIENCE = timedelta(minutes=10)
"""A backup pod still Pending after this is reported, even without a known cause
(image pulls and volume attaches normally take seconds to minutes)."""


def current_attempt(exit: TenantExit) -> int:
    backup = exit.status.backup
    return backup.attempts if backup is not None and backup.attempts > 0 else 1


def enter(exit: TenantExit, seen: Observed) -> list[Action]:
    return [
        SetPhase(PHASE, "Backup of database and documents started"),
        SetCondition(
            c.BACKUP_COMPLETE, ConditionStatus.FALSE, c.BACKUP_PENDING, "Backup not complete yet"
        ),
        SetCondition(
            c.RESTORE_VERIFIED, ConditionStatus.FALSE, c.RESTORE_PENDING,
            "The restore verification runs with the backup",
        ),
        *_start_job(exit, seen),
    ]


def decide(exit: TenantExit, seen: Observed) -> list[Action]:
    actions = [*keep_guards(exit, seen, PHASE), *keep_read_only(exit, seen)]
    job = seen.backup_job
    if job is None:
        return actions + _start_job(exit, seen)
    recorded = exit.status.backup
    if recorded is None or recorded.job != job.name:
        # Created, then killed before the status patch: adopt it, never duplicate it.
        actions.append(_record(job.name, current_attempt(exit), job, seen))
    return actions + decide_finished_job(exit, seen, job)


def decide_finished_job(exit: TenantExit, seen: Observed, job: JobState) -> list[Action]:
    """Running: say so. Finished: verified -> AwaitingReceipt, otherwise a new attempt."""
    if job.succeeded or job.failed:
        # Presigned: the worker cannot abort what a crash left; the operator can.
        leftovers: list[Action] = [AbortUnfinishedUploads(current_attempt(exit))] \
            if seen.presigned_leftovers is not None else []
        return [*leftovers, *decide_outcome(exit, seen, job, current_attempt(exit))]
    renew = [*renew_upload_session(exit, seen), *top_up_presigned(exit, seen)]
    waiting = pending_message(job, seen)
    if waiting is not None:
        return [*renew,
                SetCondition(c.READY, ConditionStatus.FALSE, c.BACKUP_POD_PENDING, waiting)]
    return [
        *renew,
        SetCondition(
            c.READY, ConditionStatus.TRUE, c.BACKUP_JOB_CREATED, f"Backup Job {job.name} is running"
        )
    ]


def renew_upload_session(exit: TenantExit, seen: Observed) -> list[Action]:
    """A new session for the running Job once a third of the current one is left: the
    kubelet updates the mounted Secret within about a minute and the worker re-reads
    it 15 minutes before the end (storage.file_credentials), so a dump longer than one
    session never meets an expired token."""
    ends = seen.upload_session_ends
    if ends is None or seen.now < ends - seen.upload_session_length / 3:
        return []
    return [CopyS3Credentials(attempt=current_attempt(exit))]


def top_up_presigned(exit: TenantExit, seen: Observed) -> list[Action]:
    """New presigned URLs for the running Job (uploadCredentials Presigned) when
    `presigned_due` says so; the same uploads, fresh windows."""
    window = seen.presigned
    if window is None or not presigned_due(window, seen.now):
        return []
    return [CopyS3Credentials(attempt=current_attempt(exit))]


def presigned_due(window: PresignedSeen, now: datetime) -> bool:
    """Top up when the URLs have a third of their lifetime left, or an object's
    uploaded parts came within half a window of the last part it has a URL for:
    kubelet takes up to about a minute to bring the rewritten file to the pod, and
    the worker waits (bounded) rather than fail while it does."""
    if now >= window.expires_at - (window.expires_at - window.issued_at) / 3:
        return True
    half = max(window.window // 2, 1)
    return any(highest is not None and highest + half >= last
               for last, highest in window.progress)


def pending_message(job: JobState, seen: Observed) -> str | None:
    """Why the Job's pod has not started, once that is worth a person's attention:
    at once when another node holds a ReadWriteOnce claim it needs (it would wait
    until the Job's deadline), else after PENDING_PATIENCE."""
    if job.pending_since is None:
        return None
    since = job.pending_since.isoformat()
    if job.claim_holders:
        return (f"Backup Job {job.name}'s pod has waited since {since}: "
                f"{'; '.join(job.claim_holders)}. A ReadWriteOnce volume attaches to one "
                "node at a time: stop that pod (scale the application down) so the backup "
                "can mount it; otherwise the Job fails at its deadline")
    if seen.now - job.pending_since >= PENDING_PATIENCE:
        return (f"Backup Job {job.name}'s pod has been Pending since {since}: "
                f"see kubectl -n {seen.namespace.name if seen.namespace else '<tenant>'} "
                f"describe pod -l batch.kubernetes.io/job-name={job.name}")
    return None


def _start_job(exit: TenantExit, seen: Observed) -> list[Action]:
    blocked = start_blocked(exit, seen)
    if blocked is not None:
        reason, message = blocked
        return [
            SetCondition(c.STALLED, ConditionStatus.TRUE, reason, message),
            SetCondition(c.READY, ConditionStatus.FALSE, reason, message),
        ]
    unfrozen = freeze_wait(exit, seen)
    if unfrozen is not None:
        return [SetCondition(c.READY, ConditionStatus.FALSE, c.WRITES_NOT_FROZEN, unfrozen)]
    attempt = current_attempt(exit)
    name = names.backup_job_name(exit.name, attempt)
    # The terms are frozen before the first Job: it dumps them, and every later step
    # (verification, deletion, certificate) acts on them, not on the live spec.
    frozen: list[Action] = [] if exit.status.terms else [
        RecordTerms(terms_from_spec(exit, seen.backup_policy.restore_default))]
    return [
        *frozen,
        CopyS3Credentials(attempt=attempt),
        CreateBackupJob(attempt=attempt),
        RecordBackupJob(job=name, attempt=attempt, started_at=seen.now),
        SetCondition(
            c.READY, ConditionStatus.TRUE, c.BACKUP_JOB_CREATED, f"Backup Job {name} created"
        ),
    ]


def _record(name: str, attempt: int, job: JobState, seen: Observed) -> RecordBackupJob:
    return RecordBackupJob(job=name, attempt=attempt, started_at=job.created_at or seen.now)


def freeze_wait(exit: TenantExit, seen: Observed) -> str | None:
    """Why the Job waits for the write freeze, or None when it may start: the dump
    starts only after the freeze was read back in force in this very pass (issue 10).
    The freeze is enforced again on every pass, so the wait ends by itself once it
    holds; a grant that keeps coming back is named."""
    mode = exit.spec.freeze_mode()
    if mode is DatabaseReadOnlyMode.NONE:
        return None  # acknowledged (start_blocked refuses it otherwise)
    if seen.freeze is None:
        return (f"Waiting to read back the write freeze ({mode.value}) in force before the "
                "backup starts")
    if not seen.freeze.in_force:
        return (f"The write freeze ({mode.value}) is not in force, so the backup waits: "
                f"{'; '.join(seen.freeze.problems)}")
    return None


def start_blocked(exit: TenantExit, seen: Observed) -> tuple[str, str] | None:
    """A spec problem that stops the Job from being created: (reason, message)."""
    if (exit.spec.freeze_mode() is DatabaseReadOnlyMode.NONE
            and not exit.spec.freeze_acknowledgement()):
        return (
            c.FREEZE_NOT_ACKNOWLEDGED,
            "spec.readOnly.database is None, which leaves the database writable during the "
            "backup, but spec.readOnly.writesNotFrozenAcknowledgement is not set; set it (who "
            "accepts this and why) or choose RevokeWrites or ServerReadOnly",
        )
    destination = exit.spec.destination
    if destination is None:
        return (
            c.DESTINATION_MISSING,
            f"TenantExit {exit.name} has no spec.destination; add the S3 destination "
            "and encryption recipients to start the backup",
        )
    if destination.s3 is None:
        return (
            c.DESTINATION_MISSING,
            f"TenantExit {exit.name} has no spec.destination.s3 and no TenantExitClass gives "
            "a destination; set spec.destination.s3 or spec.className",
        )
    secret = destination.s3.credentials_secret
    if secret.namespace not in seen.credential_namespaces:
        allowed = ", ".join(seen.credential_namespaces)
        return (
            c.CREDENTIALS_NOT_ALLOWED,
            f"spec.destination.s3.credentialsSecret is in namespace {secret.namespace}; "
            f"the operator copies credentials only from: {allowed}",
        )
    return None
