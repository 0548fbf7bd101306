"""BackupRunning, once the Job of the current attempt has finished: a verified
backup moves the exit to AwaitingReceipt; anything else is a condition and a
new attempt (with backoff), never AwaitingReceipt.

A backup is verified when the worker's summary names a manifest, the manifest
read back from the bucket has the digest the worker reported and this exit's
terms, and then the verify Job (in the operator's namespace, through presigned
links) has read every object it lists back with the recorded size and SHA-256
of its stored bytes. The operator reads the manifest and the verify Job's
result only, never an object (issue 15: a 500 GB tenant must not be 500 GB
through the operator).
"""

from __future__ import annotations

import json

from tenant_exit.api import conditions as c
from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.spec import UploadCredentials
from tenant_exit.api.status import ConditionStatus, Phase
from tenant_exit.api.verify_result import VerifyResult
from tenant_exit.api.worker_errors import NEEDS_A_FIX, WorkerErrorCode
from tenant_exit.phases.actions import (
    Action,
    ConfirmUploadRetention,
    CopyS3Credentials,
    CreateBackupJob,
    CreateVerifyJob,
    DeliverBackup,
    RecordBackupJob,
    RecordBackupRejected,
    RecordBackupResult,
    RemoveS3Credentials,
    SetCondition,
    SetPhase,
)
from tenant_exit.phases.observed import BackupCheck, JobState, Observed

NEXT = Phase.AWAITING_RECEIPT


def _worker_failure(job: JobState) -> dict[str, object]:
    try:
        data = json.loads(job.termination_message or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def worker_error(job: JobState) -> str | None:
    """The worker's own failure sentence (for humans) from its termination message."""
    error = _worker_failure(job).get("error")
    return str(error) if error else None


def worker_error_code(job: JobState) -> WorkerErrorCode | None:
    """The worker's stable failure code; None when it reported none we know."""
    code = _worker_failure(job).get("code")
    try:
        return WorkerErrorCode(code) if isinstance(code, str) else None
    except ValueError:
        return None


def needs_a_fix(job: JobState) -> bool:
    """A failure no new attempt can fix (the account is refused or lacks a privilege):
    the exit stalls at once and waits for a change instead of burning its attempts."""
    return job.failed and worker_error_code(job) in NEEDS_A_FIX


def already_rejected(exit: TenantExit, job_name: str) -> str | None:
    """Why this Job's backup was found not to match, if the operator read it already.

    A backup is read once per attempt (every object, end to end): observe skips the
    check for a Job recorded here and the outcome reuses the recorded problem."""
    rejected = exit.status.backup.rejected if exit.status.backup else None
    return rejected.problem if rejected is not None and rejected.job == job_name else None


def presigned_uploads(exit: TenantExit) -> bool:
    """The exit's Jobs write through presigned URLs (uploadCredentials Presigned)."""
    destination = exit.spec.destination
    return (destination is not None and destination.s3 is not None
            and destination.s3.upload_credentials is UploadCredentials.PRESIGNED)


def decide_outcome(exit: TenantExit, seen: Observed, job: JobState, attempt: int) -> list[Action]:
    recorded = already_rejected(exit, job.name) if job.succeeded else None
    if recorded is not None:
        return retry(exit, seen, job, attempt, recorded)
    if job.succeeded and seen.backup_check is not None and seen.backup_check.ok:
        return read_back(exit, seen, job, attempt, seen.backup_check)
    problem = why_not_complete(job, seen.backup_check)
    record: list[Action] = (
        [RecordBackupRejected(job.name, seen.now, problem)] if job.succeeded else []
    )
    return record + retry(exit, seen, job, attempt, problem)


def read_back(exit: TenantExit, seen: Observed, job: JobState, attempt: int,
              check: BackupCheck) -> list[Action]:
    """The manifest checks out: the verify Job reads every object back; its result
    completes the backup or rejects it like any other mismatch."""
    assert check.manifest_sha256 is not None
    verify = seen.verify_job
    name = names.verify_job_name(exit.name, attempt)
    if verify is None:
        # Presigned: the worker could not read its objects' retention back (that needs
        # a key), so the operator does, before anything relies on the backup.
        confirm: list[Action] = [ConfirmUploadRetention(check.manifest_key,
                                                        check.manifest_version_id)] \
            if check.retention is not None and presigned_uploads(exit) else []
        return [
            *confirm,
            CreateVerifyJob(attempt, check.manifest_key, check.manifest_sha256),
            SetCondition(c.READY, ConditionStatus.TRUE, c.BACKUP_VERIFYING,
                         f"Backup Job {job.name} succeeded; verify Job {name} reads every "
                         f"object of {check.manifest_key} back"),
        ]
    if not (verify.succeeded or verify.failed):
        return [SetCondition(c.READY, ConditionStatus.TRUE, c.BACKUP_VERIFYING,
                             f"Verify Job {name} is reading every object of "
                             f"{check.manifest_key} back")]
    problem = read_back_problem(job, verify, check)
    if problem is None:
        return complete(seen, check)
    return [RecordBackupRejected(job.name, seen.now, problem),
            *retry(exit, seen, job, attempt, problem)]


def read_back_problem(job: JobState, verify: JobState, check: BackupCheck) -> str | None:
    """Why the verify Job's finding does not verify the backup; None when it does."""
    if verify.failed:
        cause = worker_error(verify) or verify.failure_message or "no reason given"
        return f"verify Job {verify.name} could not read the backup back: {cause}"
    result = VerifyResult.parse(verify.termination_message)
    if result is None:
        return f"verify Job {verify.name} succeeded but left no result"
    if result.manifest_sha256 != check.manifest_sha256:
        return (f"verify Job {verify.name} read manifest {result.manifest_key} with "
                f"SHA-256 {result.manifest_sha256}, not {check.manifest_sha256}")
    if result.problems or result.problem_count:
        first = result.problems[0] if result.problems else "(not reported)"
        more = max(result.problem_count, len(result.problems)) - 1
        return (f"backup of Job {job.name} does not match its manifest: {first}"
                + (f" (and {more} more)" if more > 0 else ""))
    if result.objects != check.objects:
        return (f"verify Job {verify.name} read {result.objects} objects, the manifest "
                f"lists {check.objects}")
    return None


def why_not_complete(job: JobState, check: BackupCheck | None) -> str:
    if job.failed:
        cause = worker_error(job) or job.failure_message or "no reason given"
        return f"backup Job {job.name} failed: {cause}"
    if check is None:
        return f"backup Job {job.name} succeeded but left no summary naming its manifest"
    if check.manifest_sha256 is None:
        return f"backup Job {job.name} succeeded but its manifest {check.manifest_key} " \
               f"cannot be read: {'; '.join(check.problems)}"
    if check.manifest_sha256 != check.reported_sha256:
        return (f"manifest {check.manifest_key} has SHA-256 {check.manifest_sha256}, the "
                f"worker reported {check.reported_sha256}")
    return f"backup of Job {job.name} does not match its manifest: {check.problems[0]}" + (
        f" (and {len(check.problems) - 1} more)" if len(check.problems) > 1 else "")


def complete(seen: Observed, check: BackupCheck) -> list[Action]:
    assert check.manifest_sha256 is not None
    return [
        RecordBackupResult(
            completed_at=seen.now, manifest_key=check.manifest_key,
            manifest_sha256=check.manifest_sha256, tables=check.tables, rows=check.rows,
            database_bytes=check.database_bytes, files=check.files,
            document_bytes=check.document_bytes, stored_bytes=check.stored_bytes,
            schemas=check.schemas, excluded_tables=check.excluded_tables,
            manifest_version_id=check.manifest_version_id, retention=check.retention,
        ),
        DeliverBackup(check.manifest_key, check.manifest_sha256),
        # The Job is done: the tenant namespace no longer needs the S3 keys.
        RemoveS3Credentials(),
        SetCondition(
            c.BACKUP_COMPLETE, ConditionStatus.TRUE, c.BACKUP_VERIFIED,
            f"Backup verified against its manifest {check.manifest_key} "
            f"(SHA-256 {check.manifest_sha256}): {check.tables} tables, {check.rows} rows, "
            f"{check.files} documents",
        ),
        restore_condition(check),
        SetPhase(NEXT, "Backup verified and delivered; waiting for the customer's receipt"),
        SetCondition(
            c.RECEIPT_CONFIRMED, ConditionStatus.FALSE, c.RECEIPT_PENDING,
            "Waiting for spec.receipt quoting status.backup.manifestSha256",
        ),
        SetCondition(
            c.READY, ConditionStatus.TRUE, c.RECEIPT_PENDING,
            f"Backup delivered; waiting for spec.receipt quoting manifestSha256 "
            f"{check.manifest_sha256}",
        ),
    ]


def restore_condition(check: BackupCheck) -> SetCondition:
    """RestoreVerified from the manifest's verification section (issue 13)."""
    if check.restore_status == "Verified":
        return SetCondition(c.RESTORE_VERIFIED, ConditionStatus.TRUE, c.RESTORE_MATCHES,
                            check.restore_message)
    if not check.restore_status:
        return SetCondition(c.RESTORE_VERIFIED, ConditionStatus.UNKNOWN, c.RESTORE_OFF,
                            "The backup's manifest records no restore verification")
    return SetCondition(c.RESTORE_VERIFIED, ConditionStatus.UNKNOWN,
                        check.restore_reason or c.RESTORE_OFF,
                        check.restore_message or "Restore not verified")


_RESTORE_FAILURES = {
    WorkerErrorCode.RESTORE_LOAD_FAILED: c.RESTORE_LOAD_FAILED,
    WorkerErrorCode.RESTORE_MISMATCH: c.RESTORE_MISMATCH,
    WorkerErrorCode.RESTORE_TOO_LARGE: c.RESTORE_TOO_LARGE,
    WorkerErrorCode.RESTORE_NOT_POSSIBLE: c.RESTORE_NO_SCRATCH_IMAGE,
    WorkerErrorCode.RESTORE_UNAVAILABLE: c.RESTORE_FAILED,
}


def restore_failure(job: JobState, problem: str) -> list[Action]:
    """A failed attempt that failed the restore verification says so in RestoreVerified,
    decided on the worker's code, never on its sentence."""
    code = worker_error_code(job) if job.failed else None
    reason = _RESTORE_FAILURES.get(code) if code is not None else None
    if reason is None:
        return []
    return [SetCondition(c.RESTORE_VERIFIED, ConditionStatus.FALSE, reason, problem)]


def retry(exit: TenantExit, seen: Observed, job: JobState, attempt: int,
          problem: str) -> list[Action]:
    reason = c.BACKUP_JOB_FAILED if job.failed else c.BACKUP_INVALID
    policy = seen.backup_policy
    actions: list[Action] = [
        SetCondition(c.BACKUP_COMPLETE, ConditionStatus.FALSE, reason, problem),
        *restore_failure(job, problem),
    ]
    stalled = c.find(exit.status.conditions, c.STALLED)
    spec_changed_since = (
        stalled is not None
        and c.is_true(exit.status.conditions, c.STALLED)
        and stalled.observed_generation < exit.metadata.generation
    )
    exhausted = attempt >= policy.max_attempts or needs_a_fix(job)
    if exhausted and not spec_changed_since:
        message = (
            f"Backup failed {attempt} times; last: {problem}. Fix the cause, then change "
            f"the TenantExit's spec (any field) to allow one more attempt"
        )
        return [
            *actions,
            SetCondition(c.STALLED, ConditionStatus.TRUE, c.BACKUP_ATTEMPTS_EXHAUSTED, message),
            SetCondition(c.READY, ConditionStatus.FALSE, c.BACKUP_ATTEMPTS_EXHAUSTED, message),
        ]
    finished = job.finished_at or seen.now
    next_at = finished + policy.wait_after(attempt)
    # After a spec change the human fix replaces the backoff: retry at once.
    if seen.now < next_at and not spec_changed_since:
        return [
            *actions,
            SetCondition(
                c.READY, ConditionStatus.FALSE, c.BACKUP_RETRY_SCHEDULED,
                f"{problem}; attempt {attempt + 1} starts at {next_at.isoformat()}",
            ),
        ]
    following = attempt + 1
    name = names.backup_job_name(exit.name, following)
    return [
        *actions,
        CopyS3Credentials(attempt=following),
        CreateBackupJob(attempt=following),
        RecordBackupJob(job=name, attempt=following, started_at=seen.now),
        SetCondition(
            c.READY, ConditionStatus.TRUE, c.BACKUP_JOB_CREATED,
            f"Backup Job {name} created after: {problem}",
        ),
    ]
