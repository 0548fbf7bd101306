"""Which Kubernetes Events a status change deserves (pure).

Every phase transition and every change of a condition's status or reason
emits one Event on the TenantExit, so `kubectl describe` tells the story.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from tenant_exit.api import conditions as c
from tenant_exit.api.status import Condition, ConditionStatus

NORMAL = "Normal"
WARNING = "Warning"


@dataclass(frozen=True)
class EventSpec:
    type: str
    reason: str
    message: str


class StoryStatus(Protocol):
    """What the events read of a status: any resource with a phase and conditions."""

    @property
    def phase(self) -> Enum | None: ...

    @property
    def conditions(self) -> Sequence[Condition]: ...


def transition_events(old: StoryStatus, new: StoryStatus) -> list[EventSpec]:
    events: list[EventSpec] = []
    if new.phase is not None and new.phase != old.phase:
        was = old.phase.value if old.phase else "new"
        events.append(EventSpec(NORMAL, str(new.phase.value),
                                f"Phase {was} -> {new.phase.value}"))
    for condition in new.conditions:
        before = c.find(old.conditions, condition.type)
        if before is not None and (before.status, before.reason) == (
            condition.status,
            condition.reason,
        ):
            continue
        events.append(
            EventSpec(
                _severity(condition.type, condition.status),
                condition.reason,
                f"{condition.type}={condition.status.value}: {condition.message}",
            )
        )
    return events


def _severity(type: str, status: ConditionStatus) -> str:
    bad = (type == c.STALLED and status is ConditionStatus.TRUE) or (
        type == c.READY and status is ConditionStatus.FALSE
    )
    return WARNING if bad else NORMAL
