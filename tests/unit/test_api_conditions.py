"""The one condition setter: upsert by type, lastTransitionTime moves only on a flip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tenant_exit.api import conditions as c
from tenant_exit.api.status import ConditionStatus

T0 = datetime(2027, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def set_ready(conditions, status, reason, now, generation=1):
    return c.set_condition(
        conditions,
        type=c.READY,
        status=status,
        reason=reason,
        message=f"{reason} message",
        generation=generation,
        now=now,
    )


def test_a_new_condition_is_added_with_now_as_transition_time() -> None:
    [ready] = set_ready([], ConditionStatus.TRUE, c.PROGRESSING, T0)
    assert (ready.status, ready.reason, ready.last_transition_time) == (
        ConditionStatus.TRUE,
        c.PROGRESSING,
        T0,
    )


def test_same_status_new_reason_keeps_the_transition_time() -> None:
    first = set_ready([], ConditionStatus.TRUE, c.PROGRESSING, T0)
    [ready] = set_ready(first, ConditionStatus.TRUE, c.LICENCE_RUNNING, T1, generation=2)
    assert ready.last_transition_time == T0
    assert (ready.reason, ready.observed_generation) == (c.LICENCE_RUNNING, 2)


def test_a_status_flip_moves_the_transition_time() -> None:
    first = set_ready([], ConditionStatus.TRUE, c.PROGRESSING, T0)
    [ready] = set_ready(first, ConditionStatus.FALSE, c.READ_ONLY_FAILED, T1)
    assert ready.last_transition_time == T1


def test_other_conditions_are_kept_and_the_order_is_stable() -> None:
    stalled = c.set_condition(
        [],
        type=c.STALLED,
        status=ConditionStatus.FALSE,
        reason=c.ALL_CLEAR,
        message="",
        generation=1,
        now=T0,
    )
    both = set_ready(stalled, ConditionStatus.TRUE, c.PROGRESSING, T0)
    assert [x.type for x in both] == [c.READY, c.STALLED]
    assert c.is_true(both, c.READY) and not c.is_true(both, c.STALLED)


def test_timestamps_serialise_like_metav1_time() -> None:
    [ready] = set_ready([], ConditionStatus.TRUE, c.PROGRESSING, T0)
    assert ready.model_dump(mode="json", by_alias=True)["lastTransitionTime"] == (
        "2027-01-01T00:00:00Z"
    )
