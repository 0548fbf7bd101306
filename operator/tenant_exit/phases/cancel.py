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
from tenant_exit.phases.guards import recorded_uid
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
    uid = recorded_uid(exit)
    if ns is None or ns.guarded_by != exit.name or (uid is not None and ns.uid != uid):
        # Never took the namespace (refused, or another exit holds it), or it is another
        # namespace of that name now: touch nothing there, so cancelling a refused
        # duplicate cannot lift the real exit's guards.
        return [RevertReadOnly(), RemoveDownloadLinks()] if phase is not None else []
    actions: list[Action] = [RevertReadOnly()]
    read_only = exit.spec.read_only
    if read_only is not None and read_only.app_flag is not None:
        actions.append(ResetAppFlag(flag=read_only.app_flag))
    claims = tuple(v.claim_uid for v in exit.status.tenant.volumes) if exit.status.tenant else ()
    actions += [RemoveS3Credentials(), RemoveDownloadLinks(),
                RemoveGuards(namespace_uid=uid or ns.uid, claim_uids=claims)]
    return actions
