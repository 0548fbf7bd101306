"""Deleting a TenantExit before the Deleting phase cancels the exit: everything
the exit changed is reverted, and the customer's presigned download links are
withdrawn (the Secret that holds them is deleted; links already copied out stay
valid until they expire, see docs/operations.md). From Deleting on, the exit
completes first."""

from __future__ import annotations

from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import Phase
from tenant_exit.phases.actions import (
    Action,
    HoldDeletion,
    RemoveDownloadLinks,
    RemoveGuards,
    RemoveS3Credentials,
    ResetAppFlag,
    RevertReadOnly,
)
from tenant_exit.phases.observed import Observed


def decide(exit: TenantExit, seen: Observed) -> list[Action]:
    phase = exit.status.phase
    if phase is Phase.DELETED:
        return []
    if phase is Phase.DELETING:
        return [
            HoldDeletion(
                f"TenantExit {exit.name} is in phase Deleting: the deletion is irreversible "
                "and completes first; the TenantExit is released when the phase is Deleted"
            )
        ]
    ns = seen.namespace
    if ns is None or ns.guarded_by != exit.name:
        # Never took the namespace (refused, or another exit holds it): touch nothing
        # there, so cancelling a refused duplicate cannot lift the real exit's guards.
        return [RevertReadOnly(), RemoveDownloadLinks()] if phase is not None else []
    actions: list[Action] = [RevertReadOnly()]
    read_only = exit.spec.read_only
    if read_only is not None and read_only.app_flag is not None:
        actions.append(ResetAppFlag(flag=read_only.app_flag))
    actions += [RemoveS3Credentials(), RemoveDownloadLinks(), RemoveGuards()]
    return actions
