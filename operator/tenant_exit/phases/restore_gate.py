"""The restore proof at the step into Deleting (issue 13): decided on the level
recorded in status.terms when the backup began, never on the live spec, so an edit
that slipped past admission (a cluster without the terms policy) cannot let an
archive that was never test-loaded through to the irreversible step. Pure.

Under Required the backup cannot normally reach AwaitingReceipt unproven (the
worker fails the attempt, and every attempt runs under the recorded level); this
is the last check before nothing can be undone, as the guard check beside it.
"""

from __future__ import annotations

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.restore import RestoreMode
from tenant_exit.api.status import ConditionStatus
from tenant_exit.api.terms import recorded_restore_level
from tenant_exit.phases.actions import Action, SetCondition


def restore_proven(level: RestoreMode | None, verified: ConditionStatus | None) -> bool:
    """Whether RestoreVerified (`verified`; None when absent) meets the recorded
    `level`: Required needs True; BestEffort accepts Unknown (TooLarge,
    NoScratchImage) but not False or no condition at all; Off needs nothing.
    No level recorded (terms from an operator before it was one of them): each
    attempt ran under the level of its time, enforced by its worker, so only a
    failed proof (False) holds."""
    if level is None:
        return verified is not ConditionStatus.FALSE
    if level is RestoreMode.OFF:
        return True
    if level is RestoreMode.BEST_EFFORT:
        return verified in (ConditionStatus.TRUE, ConditionStatus.UNKNOWN)
    return verified is ConditionStatus.TRUE


def restore_hold(exit: TenantExit) -> list[Action] | None:
    """Stalled before Deleting while the restore proof falls short of the recorded
    level; None when the exit may go on."""
    level = recorded_restore_level(exit)
    found = c.find(exit.status.conditions, c.RESTORE_VERIFIED)
    if restore_proven(level, found.status if found is not None else None):
        return None
    seen = (f"RestoreVerified is {found.status.value} ({found.reason})" if found is not None
            else "no RestoreVerified condition is recorded")
    held_to = (f"restore verification {level.value} (status.terms.restoreVerification)"
               if level is not None else "no restore level recorded (an older operator's "
               "terms), where only a failed proof holds")
    message = (f"Not entering Deleting: the backup began under {held_to}, and {seen}. "
               "Nothing was deleted. Cancel this exit (delete the TenantExit) and start a "
               "new one whose backup is verified")
    return [SetCondition(c.STALLED, ConditionStatus.TRUE, c.RESTORE_NOT_PROVEN, message),
            SetCondition(c.READY, ConditionStatus.FALSE, c.RESTORE_NOT_PROVEN, message)]
