"""Identities, not names (docs/security.md, "Invariants"): before any phase acts on the tenant,
the namespace must be the one the exit took (its UID recorded at admission).
A namespace of the same name with another UID — re-created by GitOps self-heal,
say — is never guarded, backed up or deleted; the exit stalls and says so.
"""

from __future__ import annotations

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus
from tenant_exit.api.terms import changed_terms
from tenant_exit.phases.actions import Action, RecordNotOurs, SetCondition
from tenant_exit.phases.guards import recorded_uid
from tenant_exit.phases.observed import Observed


def not_our_namespace(exit: TenantExit, seen: Observed) -> str | None:
    """Why the live namespace is not the tenant's, or None when it is (or no UID
    was recorded yet: an exit from before UIDs records the guarded one)."""
    uid = recorded_uid(exit)
    ns = seen.namespace
    name = exit.spec.tenant_namespace
    if uid is None or (ns is not None and ns.uid == uid):
        return None
    if ns is None:
        return (f"Namespace {name} (UID {uid}) is gone before the deletion was due; the "
                "backup may be incomplete. Nothing else is touched")
    return (f"Namespace {name} now has UID {ns.uid}, not {uid} which this exit took: it is "
            "another namespace (re-created?) and is never guarded, backed up or deleted")


def stop_if_replaced(exit: TenantExit, seen: Observed) -> list[Action] | None:
    why = not_our_namespace(exit, seen)
    if why is None:
        return None
    return [
        RecordNotOurs(why),
        SetCondition(c.STALLED, ConditionStatus.TRUE, c.NAMESPACE_REPLACED, why),
        SetCondition(c.READY, ConditionStatus.FALSE, c.NAMESPACE_REPLACED, why),
    ]


def report_changed_terms(exit: TenantExit) -> list[Action]:
    """Say so when the spec no longer matches the backed-up terms (a cluster without
    the terms admission policy): the exit goes on with the recorded terms."""
    changed = changed_terms(exit)
    if changed:
        return [SetCondition(
            c.TERMS_DIFFER, ConditionStatus.TRUE, c.TERMS_CHANGED,
            f"{', '.join(changed)} changed after the backup began; the exit goes on with "
            "the backed-up terms in status.terms and ignores the change")]
    if exit.status.terms is not None and c.is_true(exit.status.conditions, c.TERMS_DIFFER):
        return [SetCondition(c.TERMS_DIFFER, ConditionStatus.FALSE, c.TERMS_MATCH,
                             "The spec matches the backed-up terms")]
    return []
