"""Every transition emits an Event; an unchanged status emits none."""

from __future__ import annotations

from datetime import UTC, datetime

from tenant_exit.api import conditions as c
from tenant_exit.api.status import ConditionStatus, Phase, TenantExitStatus
from tenant_exit.phases import actions as a
from tenant_exit.phases.events import NORMAL, WARNING, transition_events
from tenant_exit.phases.status_update import fold

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def after(status: TenantExitStatus, *actions: a.StatusAction) -> TenantExitStatus:
    return fold(status, actions, generation=1, now=NOW)


def test_a_phase_change_emits_a_normal_event_naming_both_phases() -> None:
    old = TenantExitStatus(phase=Phase.READ_ONLY_LICENSED)
    new = after(old, a.SetPhase(Phase.BACKUP_RUNNING, "started"))
    [event] = transition_events(old, new)
    assert (event.type, event.reason) == (NORMAL, "BackupRunning")
    assert "ReadOnlyLicensed -> BackupRunning" in event.message


def test_a_failure_emits_a_warning_and_repeating_it_emits_nothing() -> None:
    failing = a.SetCondition(c.READY, ConditionStatus.FALSE, c.READ_ONLY_FAILED, "db down")
    old = TenantExitStatus()
    new = after(old, failing)
    [event] = transition_events(old, new)
    assert (event.type, event.reason) == (WARNING, c.READ_ONLY_FAILED)
    assert transition_events(new, after(new, failing)) == []


def test_a_stall_is_a_warning_and_its_clearing_is_normal() -> None:
    stalled = after(
        TenantExitStatus(),
        a.SetCondition(c.STALLED, ConditionStatus.TRUE, c.DESTINATION_MISSING, "add it"),
    )
    cleared = after(
        stalled, a.SetCondition(c.STALLED, ConditionStatus.FALSE, c.ALL_CLEAR, "fine")
    )
    assert [e.type for e in transition_events(TenantExitStatus(), stalled)] == [WARNING]
    assert [e.type for e in transition_events(stalled, cleared)] == [NORMAL]
