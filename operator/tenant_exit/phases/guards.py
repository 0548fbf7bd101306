"""Decisions about the namespace guards and protected namespaces."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import Phase
from tenant_exit.phases.actions import Action, ApplyGuards
from tenant_exit.phases.observed import Observed


def protected_reason(namespace: str, operator_namespace: str) -> str | None:
    """Why an exit of `namespace` is refused, or None. The CRD refuses kube-* and
    default too; the operator's own namespace is only known here."""
    if namespace == "default" or namespace.startswith("kube-"):
        return f"namespace {namespace} is a system namespace"
    if namespace == operator_namespace:
        return f"namespace {namespace} is where the operator runs"
    return None


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
    """Re-apply the guards when anything drifted (new PVC, lost label)."""
    if guards_intact(exit, seen, phase):
        return []
    return [ApplyGuards(phase=phase)]


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
