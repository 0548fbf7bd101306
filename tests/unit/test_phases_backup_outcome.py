"""What follows a finished backup Job, table-driven: manifest checked -> a verify
Job reads every object back; verified -> AwaitingReceipt, anything else -> a
condition naming the problem and a new attempt with backoff."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus, Phase
from tenant_exit.api.verify_result import VerifyResult
from tenant_exit.api.worker_errors import WorkerErrorCode
from tenant_exit.phases import actions as a
from tenant_exit.phases.backup_outcome import already_rejected, decide_outcome, needs_a_fix
from tenant_exit.phases.machine import decide
from tenant_exit.phases.observed import (
    BackupCheck,
    BackupPolicy,
    JobState,
    Observed,
)
from tenant_exit.phases.status_update import fold
from tests.support.exits import DIGEST, make_exit
from tests.support.observed import no_namespace, steady

NOW = datetime(2027, 3, 2, 12, 0, tzinfo=UTC)
EXIT = "zorggroep-noord"
NS = "tenant-zorggroep-noord"
BACKUP = Phase.BACKUP_RUNNING
MANIFEST = "zorggroep-noord/2027-03-02T11-00-00Z/manifest.json"
OTHER_DIGEST = "ab" * 32
POLICY = BackupPolicy(max_attempts=3, retry_after=timedelta(seconds=10))

GOOD = BackupCheck(
    manifest_key=MANIFEST, manifest_sha256=DIGEST, reported_sha256=DIGEST,
    tables=12, rows=3400, database_bytes=5_000_000, files=7, document_bytes=900_000,
    stored_bytes=1_500_000, objects=4,
)
VERIFY_JOB = f"{EXIT}-verify-1"


def verify_job(result: VerifyResult | None = None, *, failed: bool = False,
               termination: str = "") -> JobState:
    """The verify Job of attempt 1: running (no result), succeeded with `result`, or
    failed with `termination`."""
    if failed:
        return JobState(name=VERIFY_JOB, failed=True, failure_message="BackoffLimitExceeded",
                        termination_message=termination)
    if result is None:
        return JobState(name=VERIFY_JOB, active=1)
    return JobState(name=VERIFY_JOB, succeeded=True, termination_message=result.to_json())


READ_BACK = VerifyResult(MANIFEST, DIGEST, objects=4, bytes=1_500_000)
VERIFIED = verify_job(READ_BACK)


def job_name(attempt: int) -> str:
    return f"{EXIT}-backup-{attempt}"


def succeeded(attempt: int = 1) -> JobState:
    return JobState(name=job_name(attempt), succeeded=True, finished_at=NOW - timedelta(minutes=1))


def failed(attempt: int = 1, *, finished_at: datetime | None = None, termination: str = "",
           failure: str = "BackoffLimitExceeded") -> JobState:
    return JobState(name=job_name(attempt), failed=True, failure_message=failure,
                    termination_message=termination,
                    finished_at=finished_at or NOW - timedelta(hours=1))


def stalled_condition(generation: int) -> dict[str, Any]:
    return {"type": c.STALLED, "status": "True", "reason": c.BACKUP_ATTEMPTS_EXHAUSTED,
            "message": "x", "lastTransitionTime": "2027-03-02T10:00:00Z",
            "observedGeneration": generation}


def running(attempt: int = 1, generation: int = 1, **status: Any) -> TenantExit:
    return make_exit(generation=generation, status={
        "phase": BACKUP.value, "backup": {"job": job_name(attempt), "attempts": attempt},
        **status,
    })


def observed(job: JobState | None = None, check: BackupCheck | None = None,
             now: datetime = NOW, verify: JobState | None = None) -> Observed:
    return steady(now, NS, EXIT, BACKUP, backup_job=job, backup_check=check,
                  backup_policy=POLICY, verify_job=verify)


def kinds(actions: list[a.Action]) -> list[type]:
    return [type(x) for x in actions if not isinstance(x, a.SetCondition)]


def condition(actions: list[a.Action], type: str) -> a.SetCondition | None:
    found = [x for x in actions if isinstance(x, a.SetCondition) and x.type == type]
    return found[-1] if found else None


def phase_changes(actions: list[a.Action]) -> list[Phase]:
    return [x.phase for x in actions if isinstance(x, a.SetPhase)]


# --- a verified backup ---------------------------------------------------------


def test_a_verified_backup_is_recorded_delivered_and_awaits_receipt() -> None:
    actions = decide_outcome(running(), observed(succeeded(), GOOD, verify=VERIFIED),
                             succeeded(), 1)
    assert kinds(actions) == [
        a.RecordBackupResult, a.DeliverBackup, a.RemoveS3Credentials, a.SetPhase,
    ]
    assert actions[0] == a.RecordBackupResult(
        completed_at=NOW, manifest_key=MANIFEST, manifest_sha256=DIGEST, tables=12, rows=3400,
        database_bytes=5_000_000, files=7, document_bytes=900_000, stored_bytes=1_500_000,
    )
    assert a.DeliverBackup(MANIFEST, DIGEST) in actions
    assert phase_changes(actions) == [Phase.AWAITING_RECEIPT]
    complete = condition(actions, c.BACKUP_COMPLETE)
    assert complete is not None and complete.status is ConditionStatus.TRUE
    assert complete.reason == c.BACKUP_VERIFIED
    assert MANIFEST in complete.message and DIGEST in complete.message
    receipt = condition(actions, c.RECEIPT_CONFIRMED)
    assert receipt is not None and receipt.status is ConditionStatus.FALSE
    assert receipt.reason == c.RECEIPT_PENDING


def test_the_verified_backup_through_the_machine_folds_into_status() -> None:
    exit = running()
    actions = decide(exit, observed(succeeded(), GOOD, verify=VERIFIED))
    assert a.CreateBackupJob not in kinds(actions)
    status = fold(exit.status, a.status_actions(actions), generation=1, now=NOW)
    assert status.phase is Phase.AWAITING_RECEIPT
    assert status.backup is not None
    assert (status.backup.manifest, status.backup.manifest_sha256) == (MANIFEST, DIGEST)
    assert status.backup.job == job_name(1)
    assert c.is_true(status.conditions, c.BACKUP_COMPLETE)


# --- the verify Job -----------------------------------------------------------


def test_a_checked_manifest_starts_the_verify_job_and_nothing_else() -> None:
    actions = decide_outcome(running(), observed(succeeded(), GOOD), succeeded(), 1)
    assert kinds(actions) == [a.CreateVerifyJob]
    assert actions[0] == a.CreateVerifyJob(1, MANIFEST, DIGEST)
    ready = condition(actions, c.READY)
    assert ready is not None and ready.reason == c.BACKUP_VERIFYING
    assert VERIFY_JOB in ready.message
    assert condition(actions, c.BACKUP_COMPLETE) is None, "not complete before the read-back"


def test_a_running_verify_job_is_waited_for() -> None:
    actions = decide_outcome(running(), observed(succeeded(), GOOD, verify=verify_job()),
                             succeeded(), 1)
    assert kinds(actions) == []
    ready = condition(actions, c.READY)
    assert ready is not None and ready.reason == c.BACKUP_VERIFYING


READ_BACK_PROBLEMS = [
    pytest.param(verify_job(VerifyResult(MANIFEST, DIGEST, 4, 10, (
        f"{MANIFEST[:-13]}database-ons.sql.zst.age: SHA-256 {OTHER_DIGEST}, manifest says "
        f"{DIGEST}",), 1)), f"SHA-256 {OTHER_DIGEST}, manifest says {DIGEST}", id="one-byte"),
    pytest.param(verify_job(VerifyResult(MANIFEST, DIGEST, 4, 10, ("a: missing", "b: x"), 3)),
                 "a: missing (and 2 more)", id="several"),
    pytest.param(verify_job(VerifyResult(MANIFEST, OTHER_DIGEST, 4, 10)),
                 f"with SHA-256 {OTHER_DIGEST}, not {DIGEST}", id="other-manifest"),
    pytest.param(verify_job(VerifyResult(MANIFEST, DIGEST, 3, 10)),
                 "read 3 objects, the manifest lists 4", id="too-few"),
    pytest.param(JobState(name=VERIFY_JOB, succeeded=True, termination_message=""),
                 "left no result", id="no-result"),
    pytest.param(verify_job(failed=True, termination=json.dumps({
        "code": "StorageRequestFailed",
        "error": "reading http://s3/b/k failed: HTTP 403 SignatureDoesNotMatch"})),
        "could not read the backup back: reading http://s3/b/k failed: HTTP 403 "
        "SignatureDoesNotMatch", id="store-refused"),
    pytest.param(verify_job(failed=True), "could not read the backup back: "
                 "BackoffLimitExceeded", id="killed"),
]


@pytest.mark.parametrize(("verify", "named"), READ_BACK_PROBLEMS)
def test_a_read_back_that_does_not_match_rejects_the_attempt(verify: JobState,
                                                             named: str) -> None:
    actions = decide_outcome(running(), observed(succeeded(), GOOD, verify=verify),
                             succeeded(), 1)
    assert Phase.AWAITING_RECEIPT not in phase_changes(actions)
    assert a.DeliverBackup not in kinds(actions)
    rejected = [x for x in actions if isinstance(x, a.RecordBackupRejected)]
    assert len(rejected) == 1 and rejected[0].job == job_name(1)
    assert named in rejected[0].problem
    complete = condition(actions, c.BACKUP_COMPLETE)
    assert complete is not None and complete.status is ConditionStatus.FALSE
    assert complete.reason == c.BACKUP_INVALID and named in complete.message


def test_a_verify_result_round_trips_and_truncates_its_problems() -> None:
    many = VerifyResult(MANIFEST, DIGEST, 40, 1, tuple(f"o{i}: missing" for i in range(40)), 40)
    parsed = VerifyResult.parse(many.to_json())
    assert parsed is not None and not parsed.ok
    assert len(parsed.problems) == 10 and parsed.problem_count == 40
    assert VerifyResult.parse(READ_BACK.to_json()) == READ_BACK
    assert VerifyResult.parse('{"code":"StorageRequestFailed","error":"x"}') is None


# --- a backup that is not verified ---------------------------------------------

INVALID = [
    pytest.param(None, "left no summary", id="no-summary"),
    pytest.param(
        BackupCheck(MANIFEST, None, DIGEST, problems=("NoSuchKey",)),
        "cannot be read: NoSuchKey", id="manifest-unreadable",
    ),
    pytest.param(
        BackupCheck(MANIFEST, OTHER_DIGEST, DIGEST),
        f"has SHA-256 {OTHER_DIGEST}, the worker reported {DIGEST}", id="digest-differs",
    ),
    pytest.param(
        BackupCheck(MANIFEST, DIGEST, DIGEST, problems=("database.sql.zst.age: size 10 != 12",)),
        "does not match its manifest: database.sql.zst.age: size 10 != 12", id="one-object",
    ),
    pytest.param(
        BackupCheck(MANIFEST, DIGEST, DIGEST, problems=("a: missing", "b: missing", "c: x")),
        "a: missing (and 2 more)", id="several-objects",
    ),
]


@pytest.mark.parametrize(("check", "named"), INVALID)
def test_an_unverified_backup_never_awaits_receipt(check: BackupCheck | None, named: str) -> None:
    actions = decide_outcome(running(), observed(succeeded(), check), succeeded(), 1)
    assert Phase.AWAITING_RECEIPT not in phase_changes(actions)
    assert a.RecordBackupResult not in kinds(actions)
    assert a.DeliverBackup not in kinds(actions)
    complete = condition(actions, c.BACKUP_COMPLETE)
    assert complete is not None and complete.status is ConditionStatus.FALSE
    assert complete.reason == c.BACKUP_INVALID
    assert named in complete.message


# --- a failed Job -----------------------------------------------------------------

FAILURES = [
    pytest.param(json.dumps({"error": "Secret exit-dump-credentials has no key 'password'"}),
                 "BackoffLimitExceeded",
                 "failed: Secret exit-dump-credentials has no key 'password'", id="worker-error"),
    pytest.param("not json", "BackoffLimitExceeded", "failed: BackoffLimitExceeded",
                 id="garbled-message"),
    pytest.param(json.dumps({"manifest": MANIFEST}), "DeadlineExceeded",
                 "failed: DeadlineExceeded", id="summary-without-error"),
    pytest.param("", "", "failed: no reason given", id="nothing"),
]


@pytest.mark.parametrize(("termination", "failure", "named"), FAILURES)
def test_a_failed_job_says_why_in_the_workers_own_words(
        termination: str, failure: str, named: str) -> None:
    job = failed(termination=termination, failure=failure)
    actions = decide_outcome(running(), observed(job), job, 1)
    complete = condition(actions, c.BACKUP_COMPLETE)
    assert complete is not None and complete.status is ConditionStatus.FALSE
    assert complete.reason == c.BACKUP_JOB_FAILED
    assert complete.message == f"backup Job {job.name} {named}"
    assert Phase.AWAITING_RECEIPT not in phase_changes(actions)


# --- retry with backoff ----------------------------------------------------------
# retry_after 10s: attempt n waits 10s * 2**(n-1) after its Job finished.

BACKOFF = [
    pytest.param(1, timedelta(seconds=9), False, id="attempt-1:9s-waits"),
    pytest.param(1, timedelta(seconds=10), True, id="attempt-1:10s-retries"),
    pytest.param(2, timedelta(seconds=19), False, id="attempt-2:19s-waits"),
    pytest.param(2, timedelta(seconds=20), True, id="attempt-2:20s-retries"),
]


@pytest.mark.parametrize(("attempt", "since", "retries"), BACKOFF)
def test_a_retry_waits_for_its_backoff(attempt: int, since: timedelta, retries: bool) -> None:
    job = failed(attempt, finished_at=NOW - since)
    actions = decide_outcome(running(attempt), observed(job), job, attempt)
    ready = condition(actions, c.READY)
    assert ready is not None
    if retries:
        assert kinds(actions) == [a.CopyS3Credentials, a.CreateBackupJob, a.RecordBackupJob]
        assert a.CreateBackupJob(attempt=attempt + 1) in actions
        assert a.RecordBackupJob(job=job_name(attempt + 1), attempt=attempt + 1,
                                 started_at=NOW) in actions
        assert ready.reason == c.BACKUP_JOB_CREATED and job_name(attempt + 1) in ready.message
    else:
        assert kinds(actions) == []
        assert ready.status is ConditionStatus.FALSE
        assert ready.reason == c.BACKUP_RETRY_SCHEDULED
        starts = (job.finished_at + POLICY.retry_after * 2 ** (attempt - 1)).isoformat()
        assert f"attempt {attempt + 1} starts at {starts}" in ready.message


def test_an_invalid_backup_is_retried_like_a_failed_job() -> None:
    job = JobState(name=job_name(1), succeeded=True, finished_at=NOW - timedelta(seconds=10))
    actions = decide_outcome(running(), observed(job, None), job, 1)
    assert a.CreateBackupJob(attempt=2) in actions
    assert Phase.AWAITING_RECEIPT not in phase_changes(actions)


def test_an_invalid_backup_is_recorded_so_it_is_read_once_per_attempt() -> None:
    """The first pass that reads a non-matching backup records why; the passes that
    follow (inside the backoff) reuse the record and need no BackupCheck at all."""
    job = JobState(name=job_name(1), succeeded=True, finished_at=NOW - timedelta(seconds=1))
    bad = BackupCheck(MANIFEST, DIGEST, DIGEST, problems=("a: missing",))
    exit = running()
    first = decide_outcome(exit, observed(job, bad), job, 1)
    assert a.RecordBackupRejected(job.name, NOW, f"backup of Job {job.name} does not match "
                                  "its manifest: a: missing") in first
    status = fold(exit.status, a.status_actions(first), generation=1, now=NOW)
    assert status.backup is not None and status.backup.rejected is not None
    assert status.backup.rejected.job == job.name

    again = make_exit(status=status.model_dump(mode="json", by_alias=True))
    assert already_rejected(again, job.name) is not None
    assert already_rejected(again, job_name(2)) is None, "a new attempt is read afresh"
    later = decide_outcome(again, observed(job, None, now=NOW + timedelta(seconds=5)), job, 1)
    assert not any(isinstance(x, a.RecordBackupRejected) for x in later)
    complete = condition(later, c.BACKUP_COMPLETE)
    assert complete is not None and complete.reason == c.BACKUP_INVALID
    assert "a: missing" in complete.message, "the recorded problem, not 'left no summary'"
    ready = condition(later, c.READY)
    assert ready is not None and ready.reason == c.BACKUP_RETRY_SCHEDULED


def test_a_failed_job_is_not_recorded_as_read() -> None:
    """Only a succeeded Job's backup is read; a failed one has nothing to re-read."""
    job = failed()
    actions = decide_outcome(running(), observed(job), job, 1)
    assert not any(isinstance(x, a.RecordBackupRejected) for x in actions)


@pytest.mark.parametrize(("attempt", "wait"), [
    (1, timedelta(seconds=30)), (4, timedelta(seconds=240)), (8, timedelta(hours=1)),
    (30, timedelta(hours=1)),
])
def test_the_wait_between_attempts_doubles_up_to_its_cap(attempt: int, wait: timedelta) -> None:
    policy = BackupPolicy(retry_after=timedelta(seconds=30), retry_max=timedelta(hours=1))
    assert policy.wait_after(attempt) == wait


def test_exhausted_attempts_stall_and_create_no_job() -> None:
    job = failed(POLICY.max_attempts)
    actions = decide_outcome(running(POLICY.max_attempts), observed(job), job,
                             POLICY.max_attempts)
    assert kinds(actions) == []
    stalled = condition(actions, c.STALLED)
    assert stalled is not None and stalled.status is ConditionStatus.TRUE
    assert stalled.reason == c.BACKUP_ATTEMPTS_EXHAUSTED
    assert f"failed {POLICY.max_attempts} times" in stalled.message
    assert "change the TenantExit's spec" in stalled.message
    ready = condition(actions, c.READY)
    assert ready is not None and ready.status is ConditionStatus.FALSE


@pytest.mark.parametrize(
    ("stalled_at", "generation", "more"),
    [
        pytest.param(2, 2, False, id="same-generation:still-stalled"),
        pytest.param(2, 3, True, id="spec-changed:one-more-attempt"),
    ],
)
def test_a_spec_change_allows_one_more_attempt(
        stalled_at: int, generation: int, more: bool) -> None:
    last = POLICY.max_attempts
    exit = running(last, generation=generation, conditions=[stalled_condition(stalled_at)])
    job = failed(last)
    actions = decide_outcome(exit, observed(job), job, last)
    assert (a.CreateBackupJob(attempt=last + 1) in actions) is more
    assert (condition(actions, c.STALLED) is not None) is not more


def test_after_the_extra_attempt_fails_the_exit_stalls_again() -> None:
    """Spec changed -> attempt max+1 created and Stalled cleared; when it fails, no max+2."""
    last = POLICY.max_attempts
    exit = running(last, generation=3, conditions=[stalled_condition(2)])
    job = failed(last)
    actions = decide(exit, observed(job))
    assert a.CreateBackupJob(attempt=last + 1) in actions
    status = fold(exit.status, a.status_actions(actions), generation=3, now=NOW)
    assert not c.is_true(status.conditions, c.STALLED)

    after = make_exit(generation=3, status=status.model_dump(mode="json", by_alias=True))
    extra = failed(last + 1, finished_at=NOW + timedelta(minutes=5))
    later = decide(after, observed(extra, now=NOW + timedelta(hours=1)))
    assert a.CreateBackupJob not in kinds(later)
    stalled = condition(later, c.STALLED)
    assert stalled is not None and stalled.status is ConditionStatus.TRUE


def test_a_spec_change_inside_the_backoff_window_still_gets_its_extra_attempt() -> None:
    """The user fixes the cause and edits the spec shortly after the last Job failed,
    while that attempt's backoff has not elapsed: the extra attempt must still come."""
    last = POLICY.max_attempts
    job = failed(last, finished_at=NOW - timedelta(seconds=1))
    exit = running(last, generation=3, conditions=[stalled_condition(2)])
    now = NOW
    for _ in range(2):
        actions = decide(exit, observed(job, now=now))
        if a.CreateBackupJob(attempt=last + 1) in actions:
            return
        status = fold(exit.status, a.status_actions(actions), generation=3, now=now)
        exit = make_exit(generation=3, status=status.model_dump(mode="json", by_alias=True))
        now = job.finished_at + POLICY.retry_after * 2 ** last  # well past the backoff
    pytest.fail(f"no attempt {last + 1} after the spec change; Stalled is now "
                f"{c.find(exit.status.conditions, c.STALLED)}")


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (WorkerErrorCode.DATABASE_ACCESS_DENIED,
         "cannot connect to the database at db:3306 as 'dump': Access denied for user"),
        (WorkerErrorCode.DUMP_PRIVILEGES_MISSING,
         "the dump account 'dump'@'%' lacks privileges mysqldump needs: TRIGGER on `ons`.*"),
    ],
)
def test_a_refused_account_stalls_at_once_instead_of_burning_attempts(
        code: WorkerErrorCode, error: str) -> None:
    exit = make_exit(status={"phase": "BackupRunning", "backup": {"attempts": 1}})
    job = JobState(name=f"{exit.name}-backup-1", failed=True,
                   termination_message=json.dumps({"code": code.value, "error": error}))
    seen = no_namespace(NOW)

    actions = decide_outcome(exit, seen, job, attempt=1)

    assert not [x for x in actions if isinstance(x, a.CreateBackupJob)]
    stalled = [x for x in actions if isinstance(x, a.SetCondition) and x.type == c.STALLED]
    assert stalled and stalled[0].reason == c.BACKUP_ATTEMPTS_EXHAUSTED
    assert error.split(":")[0] in stalled[0].message


@pytest.mark.parametrize(
    ("termination", "stalls"),
    [
        # The code decides, whatever the sentence says.
        ({"code": "DumpPrivilegesMissing", "error": "reworded for humans"}, True),
        ({"code": "DatabaseAccessDenied", "error": "Zugriff verweigert"}, True),
        ({"error": "Access denied for user 'dump'; lacks privileges"}, False),
        ({"code": "DatabaseUnavailable", "error": "Access denied for user 'dump'"}, False),
        ({"code": "SomethingNewer", "error": "lacks privileges"}, False),
    ],
    ids=["code-privileges", "code-access", "text-only", "other-code", "unknown-code"],
)
def test_the_decision_to_stall_reads_the_workers_code_never_its_text(
        termination: dict[str, str], stalls: bool) -> None:
    exit = make_exit(status={"phase": "BackupRunning", "backup": {"attempts": 1}})
    job = JobState(name=f"{exit.name}-backup-1", failed=True,
                   termination_message=json.dumps(termination))
    assert needs_a_fix(job) is stalls
    seen = no_namespace(NOW)
    actions = decide_outcome(exit, seen, job, attempt=1)
    stalled = [x for x in actions if isinstance(x, a.SetCondition) and x.type == c.STALLED]
    assert bool(stalled) is stalls
