"""Prometheus metrics of the operator: what a platform team graphs and alerts on.

Every number comes from the difference between an exit's stored status before
and after a reconcile pass (`tally`, pure). Because the stored status is the
truth, a restarted operator re-reads it and counts nothing twice: a completed
backup or deletion is counted by the pass that recorded it, and only that one.

Labels are phases and condition reasons only — small, fixed sets of constants,
never a message, a name from the spec or anything a secret could hide in. There
is deliberately no per-exit label: Deleted exits stay as audit records for
years, so an exit-name label would grow without bound, and the per-exit detail
is one `kubectl get texit` away.

Counters and histograms start at zero with the process (Prometheus' `rate()` and
`increase()` handle that). Only the replica that acts (kopf peering) runs
passes; a standby reports zero exits.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import start_http_server as _start_http_server

from tenant_exit.api import conditions as c
from tenant_exit.api.status import ConditionStatus, Phase, TenantExitStatus
from tenant_exit.phases.actions import RecordBackupResult

# A backup attempt whose Job ended without a verified backup records one of
# these on BackupComplete; the condition's message names the Job, so a new
# message is a new failed attempt.
BACKUP_FAILURE_REASONS = frozenset({c.BACKUP_JOB_FAILED, c.BACKUP_INVALID})

_MINUTE, _HOUR = 60.0, 3600.0
DURATION_BUCKETS = (
    _MINUTE, 5 * _MINUTE, 15 * _MINUTE, 30 * _MINUTE,
    _HOUR, 2 * _HOUR, 4 * _HOUR, 6 * _HOUR, 12 * _HOUR, 24 * _HOUR,
)
_MIB = 1024.0**2
BYTES_BUCKETS = tuple(_MIB * 10**n for n in range(7))  # 1 MiB .. ~1 TiB


@dataclass(frozen=True)
class Tally:
    """What one pass changed, in the terms of the metrics."""

    attempts_started: int = 0
    backup_failure: str | None = None
    """Reason of a backup attempt that newly failed."""
    backup_seconds: float | None = None
    """Duration of the attempt that produced the verified backup."""
    backup_stored_bytes: int | None = None
    deleted: bool = False


def tally(
    before: TenantExitStatus, after: TenantExitStatus, changes: Sequence[object] = ()
) -> Tally:
    """Pure: the metric updates a pass from `before` to `after` (with the status
    actions it applied, which carry the stored size) deserves."""
    attempts_before = before.backup.attempts if before.backup else 0
    attempts_after = after.backup.attempts if after.backup else 0
    failure = None
    now_failed = c.find(after.conditions, c.BACKUP_COMPLETE)
    was = c.find(before.conditions, c.BACKUP_COMPLETE)
    if (
        now_failed is not None
        and now_failed.status is ConditionStatus.FALSE
        and now_failed.reason in BACKUP_FAILURE_REASONS
        and (was is None or (was.reason, was.message) != (now_failed.reason, now_failed.message))
    ):
        failure = now_failed.reason
    seconds = None
    completed = after.backup.completed_at if after.backup else None
    if completed is not None and (before.backup is None or before.backup.completed_at is None):
        started = after.backup.started_at if after.backup else None
        seconds = (completed - started).total_seconds() if started is not None else None
    stored = next((x.stored_bytes for x in changes if isinstance(x, RecordBackupResult)), None)
    return Tally(
        attempts_started=max(0, attempts_after - attempts_before),
        backup_failure=failure,
        backup_seconds=seconds,
        backup_stored_bytes=stored,
        deleted=after.phase is Phase.DELETED and before.phase is not Phase.DELETED,
    )


EXIT_PHASES = tuple(phase.value for phase in Phase)


@dataclass(frozen=True)
class _Standing:
    phase: str | None
    stalled: bool


class ExitMetrics:
    """The operator's metrics in one registry (the process-wide one by default;
    tests pass their own). `record` knows nothing of TenantExit: it takes a Tally
    and a phase name, so another resource can reuse it with its own `phases`."""

    def __init__(self, registry: CollectorRegistry = REGISTRY,
                 phases: Sequence[str] = EXIT_PHASES) -> None:
        self.registry = registry
        self._phases = tuple(phases)
        # Handlers of different exits run in parallel threads (kopf executor).
        self._lock = threading.Lock()
        self._standing: dict[str, _Standing] = {}
        self.exits = Gauge(
            "tenant_exit_exits", "TenantExits per phase, as last seen by this operator.",
            ["phase"], registry=registry,
        )
        self.stalled = Gauge(
            "tenant_exit_stalled_exits",
            "TenantExits whose Stalled condition is True (they wait for a spec change).",
            registry=registry,
        )
        self.backup_attempts = Counter(
            "tenant_exit_backup_attempts_total", "Backup Jobs started.", registry=registry,
        )
        self.failures = Counter(
            "tenant_exit_failures_total",
            "Failed reconcile passes and failed backup attempts, by condition reason.",
            ["reason"], registry=registry,
        )
        self.deletions = Counter(
            "tenant_exit_deletions_total",
            "Tenants irreversibly deleted (exits that reached Deleted).", registry=registry,
        )
        self.backup_duration = Histogram(
            "tenant_exit_backup_duration_seconds",
            "Duration of the backup attempt that produced a verified backup "
            "(status.backup.startedAt to completedAt).",
            buckets=DURATION_BUCKETS, registry=registry,
        )
        self.backup_bytes = Histogram(
            "tenant_exit_backup_stored_bytes",
            "Bytes stored in the bucket per verified backup (compressed, encrypted).",
            buckets=BYTES_BUCKETS, registry=registry,
        )
        self._publish_standing()

    def passed(
        self, name: str, before: TenantExitStatus, after: TenantExitStatus,
        changes: Sequence[object] = (),
    ) -> None:
        """After a pass published `after`: the exit's phase, and what changed."""
        phase = after.phase.value if after.phase else None
        self.record(name, tally(before, after, changes), phase,
                    c.is_true(after.conditions, c.STALLED))

    def record(self, name: str, found: Tally, phase: str | None, stalled: bool) -> None:
        """What one pass changed (`found`) and where the object now stands."""
        if found.attempts_started:
            self.backup_attempts.inc(found.attempts_started)
        if found.backup_failure is not None:
            self.failures.labels(found.backup_failure).inc()
        if found.backup_seconds is not None:
            self.backup_duration.observe(found.backup_seconds)
        if found.backup_stored_bytes is not None:
            self.backup_bytes.observe(found.backup_stored_bytes)
        if found.deleted:
            self.deletions.inc()
        standing = _Standing(phase, stalled)
        with self._lock:
            self._standing[name] = standing
            self._publish_standing()

    def failed(self, reason: str) -> None:
        """A pass failed with this condition reason (a constant, never a message)."""
        self.failures.labels(reason).inc()

    def forget(self, name: str) -> None:
        """The TenantExit is gone."""
        with self._lock:
            self._standing.pop(name, None)
            self._publish_standing()

    def _publish_standing(self) -> None:
        # Every phase always has a sample, so an alert on "0 exits in X" has data.
        for phase in self._phases:
            count = sum(1 for s in self._standing.values() if s.phase == phase)
            self.exits.labels(phase).set(count)
        self.stalled.set(sum(1 for s in self._standing.values() if s.stalled))


EXITS = ExitMetrics()
"""The operator's metrics; the reconcile passes update them."""


def serve(port: int, metrics: ExitMetrics = EXITS) -> None:
    """`GET /metrics` on `port` (all interfaces), in a daemon thread."""
    _start_http_server(port, registry=metrics.registry)
