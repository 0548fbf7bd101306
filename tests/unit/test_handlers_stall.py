"""The resync timer backs off from an exit stalled by a permanent adapter failure;
which stalls those are is an explicit set of reasons, not a spelling."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tenant_exit.api import conditions as c
from tenant_exit.handlers import _stalled_on_failure, tick_needed
from tenant_exit.phases import actions as a
from tenant_exit.reconcile.failures import ADAPTER_FAILURE_REASONS, classify
from tests.support.exits import make_exit

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def _stalled(reason: str, generation: int = 2) -> dict[str, object]:
    return {"conditions": [{"type": c.STALLED, "status": "True", "reason": reason,
                            "message": "m", "lastTransitionTime": NOW.isoformat(),
                            "observedGeneration": generation}]}


def test_the_reasons_are_those_of_the_actions_and_of_observing() -> None:
    assert {c.GUARDS_FAILED, c.READ_ONLY_FAILED, c.BACKUP_START_FAILED, c.VERIFY_START_FAILED,
            c.CANCEL_FAILED, c.DELIVERY_FAILED, c.DELETION_FAILED, c.RETENTION_FAILED,
            c.OBSERVE_FAILED} == ADAPTER_FAILURE_REASONS


@pytest.mark.parametrize(("reason", "generation", "backs_off"), [
    (c.READ_ONLY_FAILED, 2, True),
    (c.OBSERVE_FAILED, 2, True),
    (c.READ_ONLY_FAILED, 1, False),  # the spec changed since: try at once
    (c.BACKUP_ATTEMPTS_EXHAUSTED, 2, False),  # a phase's decision, re-decided every pass
    (c.DESTINATION_MISSING, 2, False),
])
def test_backing_off(reason: str, generation: int, backs_off: bool) -> None:
    exit = make_exit(generation=2, status=_stalled(reason, generation))
    assert _stalled_on_failure(exit) is backs_off


def test_only_an_unknown_error_is_unexpected() -> None:
    assert classify(a.DeleteNamespace("ns-uid"), "x", KeyError("k")).unexpected is True
    assert classify(a.DeleteNamespace("ns-uid"), "x", KeyError("k")).message.endswith("KeyError")


@pytest.mark.parametrize(("last_pass", "now", "needed"), [
    (None, 100.0, True),  # never passed in this process
    (90.0, 100.0, False),  # a change or resume pass 10 s ago, interval 30 s
    (85.0, 100.0, True),  # half an interval ago: tick
    (40.0, 100.0, True),
])
def test_a_tick_right_after_another_pass_is_skipped(last_pass: float | None, now: float,
                                                    needed: bool) -> None:
    assert tick_needed(last_pass, now, 30.0) is needed
