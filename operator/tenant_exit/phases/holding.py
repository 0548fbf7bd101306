"""Deleted: the exit is complete; nothing is left to do or to guard."""

from __future__ import annotations

from tenant_exit.api.resource import TenantExit
from tenant_exit.phases.actions import Action
from tenant_exit.phases.observed import Observed


def decide(exit: TenantExit, seen: Observed) -> list[Action]:
    return []
