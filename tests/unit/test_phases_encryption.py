"""The post-quantum condition: a Warning once for classical-only recipients,
True for post-quantum ones, nothing when unchanged or before a destination."""

from __future__ import annotations

from datetime import UTC, datetime

from tenant_exit.api import conditions as c
from tenant_exit.api.status import ConditionStatus
from tenant_exit.phases import actions as a
from tenant_exit.phases import encryption
from tenant_exit.phases.events import WARNING, transition_events
from tenant_exit.phases.status_update import fold
from tests.support.exits import AGE_RECIPIENT, example_spec, make_exit

PQ = "age1pq1" + "q" * 1952


def spec_with(recipients: list[str]) -> dict:
    spec = example_spec()
    spec["destination"]["encryption"]["ageRecipients"] = recipients
    return spec


def test_classical_only_is_a_false_condition_whose_event_is_a_warning() -> None:
    exit = make_exit(spec=spec_with([AGE_RECIPIENT]))
    [action] = encryption.decide(exit)
    assert isinstance(action, a.SetCondition)
    assert (action.type, action.status, action.reason) == (
        c.POST_QUANTUM_ENCRYPTION, ConditionStatus.FALSE, c.CLASSICAL_RECIPIENTS_ONLY)
    new = fold(exit.status, [action], generation=1, now=datetime(2027, 1, 1, tzinfo=UTC))
    [event] = transition_events(exit.status, new)
    assert event.type == WARNING and event.reason == c.CLASSICAL_RECIPIENTS_ONLY
    assert encryption.decide(make_exit(spec=spec_with([AGE_RECIPIENT]),
                                       status=new.model_dump(by_alias=True, mode="json"))) == []


def test_post_quantum_recipients_are_true_and_no_destination_says_nothing() -> None:
    [action] = encryption.decide(make_exit(spec=spec_with([PQ, PQ[:-1] + "p"])))
    assert isinstance(action, a.SetCondition) and action.status is ConditionStatus.TRUE
    spec = example_spec()
    del spec["destination"]
    assert encryption.decide(make_exit(spec=spec)) == []
