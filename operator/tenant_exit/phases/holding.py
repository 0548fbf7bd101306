"""AwaitingReceipt, Deleting, Deleted: kept guarded and read-only; issue 5 adds
receipt verification, the grace period and the irreversible deletion here."""

from __future__ import annotations

from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import Phase
from tenant_exit.phases.actions import Action
from tenant_exit.phases.guards import keep_guards
from tenant_exit.phases.observed import Observed
from tenant_exit.phases.read_only_licensed import keep_read_only


def decide(exit: TenantExit, seen: Observed) -> list[Action]:
    phase = exit.status.phase
    if phase is Phase.AWAITING_RECEIPT:
        return [*keep_guards(exit, seen, phase), *keep_read_only(exit, seen)]
    return []
