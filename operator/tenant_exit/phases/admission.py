"""A new TenantExit (no phase yet): refuse it, wait for its namespace, or take
the namespace and enter the first phase."""

from __future__ import annotations

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus, Phase
from tenant_exit.phases import backup_running, read_only_licensed
from tenant_exit.phases.actions import (
    Action,
    ApplyGuards,
    RecordTenantIdentity,
    RecordTenantVolumes,
    SetCondition,
)
from tenant_exit.phases.guards import guard_missing, protected_reason, tenant_volume
from tenant_exit.phases.observed import Observed

_INITIAL = (
    (c.READ_ONLY_ENFORCED, c.NOT_REQUESTED, "Read-only not enforced yet"),
    (c.BACKUP_COMPLETE, c.BACKUP_PENDING, "Backup not started"),
    (c.RESTORE_VERIFIED, c.RESTORE_PENDING, "The restore verification runs with the backup"),
    (c.RECEIPT_CONFIRMED, c.RECEIPT_PENDING, "No receipt yet"),
    (c.DELETED, c.NOT_DELETED, "The tenant has not been deleted"),
    (c.TERMS_DIFFER, c.TERMS_MATCH, "No backed-up terms recorded yet"),
)


def decide(exit: TenantExit, seen: Observed) -> list[Action]:
    refusal = refused(exit, seen)
    if refusal is not None:
        return refusal
    first = Phase.READ_ONLY_LICENSED if exit.spec.read_only else Phase.BACKUP_RUNNING
    if first is Phase.BACKUP_RUNNING:
        missing = guard_missing(seen, "starting the backup")
        if missing is not None:
            return missing
    ns = seen.namespace
    assert ns is not None, "refused() waits for the namespace"
    # The namespace's identity from here on is its UID (issue 10): a namespace
    # re-created under this name later is never guarded, backed up or deleted.
    actions: list[Action] = [
        RecordTenantIdentity(ns.uid),
        RecordTenantVolumes(tuple(tenant_volume(v) for v in ns.volumes)),
        ApplyGuards(phase=first, namespace_uid=ns.uid),
    ]
    actions += [SetCondition(t, ConditionStatus.FALSE, r, m) for t, r, m in _INITIAL]
    actions.append(
        SetCondition(c.READY, ConditionStatus.TRUE, c.PROGRESSING, f"Exit started in {first.value}")
    )
    if exit.spec.read_only is not None:
        return actions + read_only_licensed.enter(exit, seen)
    return actions + backup_running.enter(exit, seen)


def refused(exit: TenantExit, seen: Observed) -> list[Action] | None:
    namespace = exit.spec.tenant_namespace
    protected = protected_reason(namespace, seen.operator_namespace)
    if protected is not None:
        return _stalled(c.PROTECTED_NAMESPACE, f"Refused: {protected}; delete this TenantExit")
    ns = seen.namespace
    if ns is None:
        message = f"Namespace {namespace} does not exist; waiting for it"
        return [SetCondition(c.READY, ConditionStatus.FALSE, c.NAMESPACE_NOT_FOUND, message)]
    holder = ns.guarded_by if ns.guarded_by not in (None, exit.name) else None
    holder = holder or (seen.rivals[0] if seen.rivals else None)
    if holder is not None:
        return _stalled(
            c.NAMESPACE_CLAIMED,
            f"Namespace {namespace} is already being exited by TenantExit {holder}; "
            "delete this TenantExit",
        )
    if ns.terminating:
        return _stalled(
            c.NAMESPACE_NOT_FOUND,
            f"Namespace {namespace} is already terminating; its data cannot be exited safely",
        )
    return None


def _stalled(reason: str, message: str) -> list[Action]:
    return [
        SetCondition(c.STALLED, ConditionStatus.TRUE, reason, message),
        SetCondition(c.READY, ConditionStatus.FALSE, reason, message),
    ]
