"""Decisions about the namespace guards and protected namespaces."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from tenant_exit.api import conditions as c
from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus, Phase, TenantVolume
from tenant_exit.phases.actions import (
    Action,
    ApplyGuards,
    RecordTenantIdentity,
    RecordTenantVolumes,
    SetCondition,
)
from tenant_exit.phases.observed import Observed, VolumeSeen


def protected_reason(namespace: str, operator_namespace: str) -> str | None:
    """Why an exit of `namespace` is refused, or None. The CRD refuses kube-* and
    default too; the operator's own namespace is only known here."""
    if namespace == "default" or namespace.startswith("kube-"):
        return f"namespace {namespace} is a system namespace"
    if namespace == operator_namespace:
        return f"namespace {namespace} is where the operator runs"
    return None


def recorded_uid(exit: TenantExit) -> str | None:
    tenant = exit.status.tenant
    return tenant.namespace_uid if tenant else None


def guards_intact(exit: TenantExit, seen: Observed, phase: Phase) -> bool:
    ns = seen.namespace
    return (
        ns is not None
        and ns.guarded_by == exit.name
        and ns.has_finalizer
        and ns.deletion_label == names.DELETION_BLOCKED
        and ns.phase_annotation == phase.value
        and not ns.unretained_volumes
    )


def keep_guards(exit: TenantExit, seen: Observed, phase: Phase) -> list[Action]:
    """Re-apply the guards when anything drifted (new PVC, lost label), on the
    namespace with the recorded UID only; record volumes newly bound there."""
    ns = seen.namespace
    uid = recorded_uid(exit) or (ns.uid if ns is not None else None)
    if ns is None or uid is None or ns.uid != uid:
        return []  # gone or replaced: phases.identity reports it; nothing here to guard
    actions: list[Action] = []
    if recorded_uid(exit) is None:
        actions.append(RecordTenantIdentity(ns.uid))  # an exit admitted before UIDs
    recorded = {v.claim_uid for v in exit.status.tenant.volumes} if exit.status.tenant else set()
    fresh = tuple(tenant_volume(v) for v in ns.volumes if v.claim_uid not in recorded)
    if fresh:
        actions.append(RecordTenantVolumes(fresh))
    if not guards_intact(exit, seen, phase):
        actions.append(ApplyGuards(phase=phase, namespace_uid=uid))
    return actions


def tenant_volume(seen: VolumeSeen) -> TenantVolume:
    return TenantVolume(persistent_volume=seen.persistent_volume, claim=seen.claim,
                        claim_uid=seen.claim_uid, capacity=seen.capacity)


def guard_check_due(exit: TenantExit, now: datetime) -> bool:
    """Whether this pass may take a step the guard policies must be checked before
    (the only places `guard_missing` is asked): entering BackupRunning (from a new
    exit without a licence, or when readOnly.until has passed) and entering
    Deleting (a receipt is given). An exit held in its licence or waiting for a
    receipt skips the policy reads: they were six API requests on every pass of
    every exit (issue 15)."""
    phase = exit.status.phase
    if phase is None:
        return exit.spec.read_only is None
    if phase is Phase.READ_ONLY_LICENSED:
        until = exit.spec.read_only.until if exit.spec.read_only else None
        return until is None or now >= until
    if phase is Phase.AWAITING_RECEIPT:
        return exit.spec.receipt is not None
    return False


class GuardsNotObserved(AssertionError):
    """A decision needed the guard policies but observe did not read them."""


def guard_missing(seen: Observed, step: str) -> list[Action] | None:
    """Stall before `step` while a guard admission policy is missing or altered.

    Fails closed: a pass that did not read the policies (guard_check_due said no)
    raises instead of taking the step unchecked."""
    if seen.guard_problems is None:
        raise GuardsNotObserved(f"the guard policies were not read before {step}")
    if not seen.guard_problems:
        return None
    message = (f"Not {step}: {'; '.join(seen.guard_problems)}. Without it the tenant's data "
               "is not protected (install the chart with namespaceGuard.enabled, or apply "
               "crds/namespace-guard-policy.yaml for the operator's identity)")
    return [SetCondition(c.STALLED, ConditionStatus.TRUE, c.GUARD_MISSING, message),
            SetCondition(c.READY, ConditionStatus.FALSE, c.GUARD_MISSING, message)]


def rivals(exit: TenantExit, others: Iterable[TenantExit]) -> tuple[str, ...]:
    """Live TenantExits for the same namespace that came first (creation time, then
    name): the first one takes the namespace, later ones are refused."""

    def order(e: TenantExit) -> tuple[datetime, str]:
        return (e.metadata.creation_timestamp or datetime.max.replace(tzinfo=UTC), e.name)

    return tuple(
        sorted(
            other.name
            for other in others
            if other.name != exit.name
            and other.spec.tenant_namespace == exit.spec.tenant_namespace
            and other.metadata.deletion_timestamp is None
            and other.status.phase is not Phase.DELETED
            and order(other) < order(exit)
        )
    )
