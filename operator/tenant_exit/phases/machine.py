"""The phase machine: pick the decision module for the exit's phase."""

from __future__ import annotations

from collections.abc import Callable

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus, Phase
from tenant_exit.phases import (
    admission,
    awaiting_receipt,
    backup_running,
    cancel,
    deleting,
    encryption,
    holding,
    identity,
    read_only_licensed,
)
from tenant_exit.phases.actions import Action, SetCondition
from tenant_exit.phases.observed import Observed

Decide = Callable[[TenantExit, Observed], list[Action]]

PHASES: dict[Phase | None, Decide] = {
    None: admission.decide,
    Phase.READ_ONLY_LICENSED: read_only_licensed.decide,
    Phase.BACKUP_RUNNING: backup_running.decide,
    Phase.AWAITING_RECEIPT: awaiting_receipt.decide,
    Phase.DELETING: deleting.decide,
    Phase.DELETED: holding.decide,
}


# Phases that act on a live tenant namespace: each starts by checking it is ours.
_HOLDING = (Phase.READ_ONLY_LICENSED, Phase.BACKUP_RUNNING, Phase.AWAITING_RECEIPT)


def decide(exit: TenantExit, seen: Observed) -> list[Action]:
    stopped = identity.stop_if_replaced(exit, seen) if exit.status.phase in _HOLDING else None
    if stopped is not None:
        return stopped
    actions = PHASES[exit.status.phase](exit, seen) + identity.report_changed_terms(exit)
    return actions + _clear_stalled(exit, actions) + encryption.decide(exit)


def decide_cancel(exit: TenantExit, seen: Observed) -> list[Action]:
    return cancel.decide(exit, seen)


def _clear_stalled(exit: TenantExit, actions: list[Action]) -> list[Action]:
    """A pass that did not stall clears a Stalled condition left by an earlier one."""
    stalls = any(isinstance(a, SetCondition) and a.type == c.STALLED for a in actions)
    if stalls or (
        c.find(exit.status.conditions, c.STALLED) is not None
        and not c.is_true(exit.status.conditions, c.STALLED)
    ):
        return []
    return [SetCondition(c.STALLED, ConditionStatus.FALSE, c.ALL_CLEAR, "Nothing blocks the exit")]
