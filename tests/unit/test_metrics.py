"""The operator's metrics from status changes: a pass from one stored status to
the next, read back from a fresh Prometheus registry as a scrape would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from prometheus_client import CollectorRegistry, generate_latest

from tenant_exit.api import conditions as c
from tenant_exit.api.status import (
    BackupStatus,
    Condition,
    ConditionStatus,
    Phase,
    TenantExitStatus,
)
from tenant_exit.metrics import ExitMetrics, tally
from tenant_exit.phases.actions import RecordBackupResult

T0 = datetime(2027, 3, 1, tzinfo=UTC)


def status(phase: Phase | None, *conditions: Condition, **backup: object) -> TenantExitStatus:
    return TenantExitStatus(
        phase=phase, conditions=list(conditions),
        backup=BackupStatus.model_validate(backup) if backup else None,
    )


def condition(type: str, state: ConditionStatus, reason: str, message: str = "") -> Condition:
    return Condition(type=type, status=state, reason=reason, message=message,
                     last_transition_time=T0)


def result(stored_bytes: int) -> RecordBackupResult:
    return RecordBackupResult(
        completed_at=T0 + timedelta(minutes=42), manifest_key="x/manifest.json",
        manifest_sha256="0" * 64, tables=3, rows=10, database_bytes=100, files=2,
        document_bytes=200, stored_bytes=stored_bytes,
    )


def value(metrics: ExitMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def fresh() -> ExitMetrics:
    return ExitMetrics(CollectorRegistry())


def test_every_phase_has_a_sample_before_any_exit() -> None:
    metrics = fresh()
    assert [value(metrics, "tenant_exit_exits", phase=p.value) for p in Phase] == [0.0] * 5
    assert value(metrics, "tenant_exit_stalled_exits") == 0.0


def test_exits_are_counted_by_their_latest_phase_and_forgotten_when_gone() -> None:
    metrics = fresh()
    new = TenantExitStatus()
    metrics.passed("a", new, status(Phase.READ_ONLY_LICENSED))
    metrics.passed("b", new, status(Phase.READ_ONLY_LICENSED))
    metrics.passed("a", status(Phase.READ_ONLY_LICENSED), status(Phase.BACKUP_RUNNING))
    assert value(metrics, "tenant_exit_exits", phase="ReadOnlyLicensed") == 1
    assert value(metrics, "tenant_exit_exits", phase="BackupRunning") == 1
    # A pass that changed nothing still reports the exit (a restarted operator's resume).
    metrics.passed("b", status(Phase.READ_ONLY_LICENSED), status(Phase.READ_ONLY_LICENSED))
    assert value(metrics, "tenant_exit_exits", phase="ReadOnlyLicensed") == 1
    metrics.forget("b")
    assert value(metrics, "tenant_exit_exits", phase="ReadOnlyLicensed") == 0
    # An exit refused before it got a phase is in no phase.
    metrics.passed("c", new, status(None))
    assert sum(value(metrics, "tenant_exit_exits", phase=p.value) or 0 for p in Phase) == 1


def test_stalled_exits_are_a_gauge() -> None:
    metrics = fresh()
    stalled = condition(c.STALLED, ConditionStatus.TRUE, c.BACKUP_ATTEMPTS_EXHAUSTED, "failed 5x")
    metrics.passed("a", status(Phase.BACKUP_RUNNING), status(Phase.BACKUP_RUNNING, stalled))
    assert value(metrics, "tenant_exit_stalled_exits") == 1
    metrics.passed("a", status(Phase.BACKUP_RUNNING, stalled), status(Phase.BACKUP_RUNNING))
    assert value(metrics, "tenant_exit_stalled_exits") == 0


def test_backup_attempts_count_new_jobs_only() -> None:
    metrics = fresh()
    running = status(Phase.BACKUP_RUNNING, job="t-backup-1", attempts=1, startedAt=T0)
    metrics.passed("t", status(Phase.READ_ONLY_LICENSED), running)
    metrics.passed("t", running, running)  # resync: the same Job
    second = status(Phase.BACKUP_RUNNING, job="t-backup-2", attempts=2, startedAt=T0)
    metrics.passed("t", running, second)
    assert value(metrics, "tenant_exit_backup_attempts_total") == 2


def test_a_failed_backup_attempt_is_counted_once_per_job() -> None:
    metrics = fresh()
    pending = condition(c.BACKUP_COMPLETE, ConditionStatus.FALSE, c.BACKUP_PENDING)
    failed_1 = condition(c.BACKUP_COMPLETE, ConditionStatus.FALSE, c.BACKUP_JOB_FAILED,
                         "backup Job t-backup-1 failed: access denied")
    failed_2 = condition(c.BACKUP_COMPLETE, ConditionStatus.FALSE, c.BACKUP_JOB_FAILED,
                         "backup Job t-backup-2 failed: access denied")
    steps = [pending, failed_1, failed_1, failed_1, failed_2]  # waits for the retry in between
    for before, after in pairwise(steps):
        metrics.passed("t", status(Phase.BACKUP_RUNNING, before),
                       status(Phase.BACKUP_RUNNING, after))
    assert value(metrics, "tenant_exit_failures_total", reason=c.BACKUP_JOB_FAILED) == 2


def test_failed_passes_count_by_reason() -> None:
    metrics = fresh()
    metrics.failed(c.READ_ONLY_FAILED)
    metrics.failed(c.READ_ONLY_FAILED)
    metrics.failed(c.DELIVERY_FAILED)
    assert value(metrics, "tenant_exit_failures_total", reason=c.READ_ONLY_FAILED) == 2
    assert value(metrics, "tenant_exit_failures_total", reason=c.DELIVERY_FAILED) == 1


def test_a_verified_backup_records_its_duration_and_stored_bytes_once() -> None:
    metrics = fresh()
    running = status(Phase.BACKUP_RUNNING, job="t-backup-1", attempts=1, startedAt=T0)
    done = status(Phase.AWAITING_RECEIPT, job="t-backup-1", attempts=1, startedAt=T0,
                  completedAt=T0 + timedelta(minutes=42))
    metrics.passed("t", running, done, [result(stored_bytes=3 * 1024**3)])
    metrics.passed("t", done, done)  # later passes see the same completedAt
    assert value(metrics, "tenant_exit_backup_duration_seconds_count") == 1
    assert value(metrics, "tenant_exit_backup_duration_seconds_sum") == 42 * 60
    assert value(metrics, "tenant_exit_backup_duration_seconds_bucket", le="3600.0") == 1
    assert value(metrics, "tenant_exit_backup_duration_seconds_bucket", le="1800.0") == 0
    assert value(metrics, "tenant_exit_backup_stored_bytes_count") == 1
    assert value(metrics, "tenant_exit_backup_stored_bytes_sum") == 3 * 1024**3


def test_reaching_deleted_counts_one_deletion() -> None:
    metrics = fresh()
    metrics.passed("t", status(Phase.DELETING), status(Phase.DELETED))
    metrics.passed("t", status(Phase.DELETED), status(Phase.DELETED))
    assert value(metrics, "tenant_exit_deletions_total") == 1
    assert value(metrics, "tenant_exit_exits", phase="Deleted") == 1


def test_tally_of_an_unchanged_status_is_empty() -> None:
    same = status(Phase.AWAITING_RECEIPT, attempts=1, startedAt=T0,
                  completedAt=T0 + timedelta(minutes=1))
    assert tally(same, same) == tally(TenantExitStatus(), TenantExitStatus())


def test_label_values_are_phases_and_reasons_only() -> None:
    """No exit name, message or spec value reaches a label."""
    metrics = fresh()
    secret_message = "backup Job t-backup-1 failed: password hunter2 rejected"
    metrics.passed("zorggroep-noord", status(Phase.BACKUP_RUNNING), status(
        Phase.BACKUP_RUNNING,
        condition(c.BACKUP_COMPLETE, ConditionStatus.FALSE, c.BACKUP_JOB_FAILED, secret_message),
    ))
    text = generate_latest(metrics.registry).decode()
    assert "zorggroep-noord" not in text and "hunter2" not in text
    assert f'tenant_exit_failures_total{{reason="{c.BACKUP_JOB_FAILED}"}} 1.0' in text
