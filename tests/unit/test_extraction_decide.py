"""When runs start: schedule, missed and overlapping runs, what blocks a run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tenant_exit.api.datamodel import DataModel
from tenant_exit.api.extraction import ExtractionState, TenantExtraction
from tenant_exit.extraction.decide import Blocker, Observed, decide, due_times
from tests.unit.test_extraction_api import sample

CREATED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def extraction(last: datetime | None = None, **spec: Any) -> TenantExtraction:
    body = {
        "metadata": {"name": "zorg", "uid": "u1", "generation": 1,
                     "creationTimestamp": CREATED.isoformat()},
        "spec": {
            "tenantNamespace": "tenant-zorg",
            "database": {"host": "db", "credentialsSecret": "db", "databases": ["zorg"]},
            "dataModel": {"name": "care-reporting", "version": "1.0.0"},
            "schedule": "0 3 * * *", "timeZone": "Europe/Amsterdam",
            "destination": {"s3": {"bucket": "out", "credentialsSecret": {
                "namespace": "tenant-exit-system", "name": "s3"}}},
            "pseudonymisation": {"keySecret": {"namespace": "tenant-exit-system",
                                               "name": "key"}},
            **spec,
        },
        "status": {"lastScheduledAt": last.isoformat()} if last else {},
    }
    return TenantExtraction.from_body(body)


def seen(now: datetime, model: DataModel | None = None, *, running: bool = False,
         namespace: bool = True, phase: str | None = None, no_model: bool = False) -> Observed:
    return Observed(now=now, model=None if no_model else (model or sample()),
                    namespace_exists=namespace, exit_phase=phase, job_running=running)


def test_amsterdam_three_oclock_is_two_utc_in_winter() -> None:
    due = due_times("0 3 * * *", "Europe/Amsterdam", CREATED,
                    datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    assert [d.astimezone(UTC).hour for d in due] == [2, 2]


def test_a_due_run_starts_and_the_next_is_announced() -> None:
    now = datetime(2026, 12, 2, 2, 0, 30, tzinfo=UTC)
    decision = decide(extraction(), seen(now))
    assert decision.start_for == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    assert decision.next_run_at == datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    assert decision.missed == decision.skipped == 0


def test_nothing_due_nothing_started() -> None:
    last = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    decision = decide(extraction(last), seen(datetime(2026, 12, 2, 9, 0, tzinfo=UTC)))
    assert decision.start_for is None and decision.missed == 0


def test_after_an_outage_only_the_latest_run_starts_the_rest_are_missed() -> None:
    last = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    now = datetime(2026, 12, 5, 2, 10, tzinfo=UTC)
    decision = decide(extraction(last), seen(now))
    assert decision.start_for == datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    assert decision.missed == 2


def test_a_run_past_its_starting_deadline_is_missed_not_started_late() -> None:
    last = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    now = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
    decision = decide(extraction(last, startingDeadlineSeconds=3600), seen(now))
    assert decision.start_for is None and decision.missed == 1
    assert decision.last_scheduled_at == datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("policy", "start", "stop", "skipped"), [
    ("Forbid", False, False, 1), ("Replace", True, True, 0)])
def test_overlap_follows_the_concurrency_policy(policy: str, start: bool, stop: bool,
                                                skipped: int) -> None:
    last = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    now = datetime(2026, 12, 3, 2, 1, tzinfo=UTC)
    decision = decide(extraction(last, concurrencyPolicy=policy), seen(now, running=True))
    assert (decision.start_for is not None) == start
    assert decision.stop_running == stop and decision.skipped == skipped


@pytest.mark.parametrize(("kwargs", "spec", "blocker", "state"), [
    ({"namespace": False}, {}, Blocker.TENANT_GONE, ExtractionState.ENDED),
    ({"phase": "Deleting"}, {}, Blocker.TENANT_EXITING, ExtractionState.SUSPENDED),
    ({}, {"suspend": True}, Blocker.SUSPENDED, ExtractionState.SUSPENDED),
    ({"no_model": True}, {}, Blocker.MODEL_NOT_FOUND, ExtractionState.ACTIVE),
    ({}, {"dataModel": {"name": "care-reporting", "version": "2.0.0"}},
     Blocker.MODEL_VERSION_MISMATCH, ExtractionState.ACTIVE),
])
def test_what_blocks_a_run(kwargs: dict[str, Any], spec: dict[str, Any], blocker: Blocker,
                           state: ExtractionState) -> None:
    now = datetime(2026, 12, 2, 2, 0, 30, tzinfo=UTC)
    decision = decide(extraction(**spec), seen(now, **kwargs))
    assert decision.start_for is None
    assert decision.blocker == blocker and decision.state == state
    assert decision.missed == (1 if state == ExtractionState.ACTIVE else 0)


def test_an_exit_in_backup_does_not_stop_the_extraction() -> None:
    now = datetime(2026, 12, 2, 2, 0, 30, tzinfo=UTC)
    assert decide(extraction(), seen(now, phase="BackupRunning")).start_for is not None
