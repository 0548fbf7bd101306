"""What the operator saw, for the unit tests of the pure phase decisions.

One place builds `Observed` for every phase's tests, so a new field of
`Observed` is given a test default here once instead of in each test module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tenant_exit.api import names
from tenant_exit.api.status import Phase
from tenant_exit.phases.observed import NamespaceState, Observed

OPERATOR_NAMESPACE = "tenant-exit-system"


def observation(now: datetime, namespace: NamespaceState | None, **fields: Any) -> Observed:
    """What the operator in OPERATOR_NAMESPACE saw at `now`; `fields` as in Observed."""
    return Observed(now=now, operator_namespace=OPERATOR_NAMESPACE, namespace=namespace,
                    **fields)


def no_namespace(now: datetime) -> Observed:
    """The tenant namespace does not exist (and nothing else was seen)."""
    return observation(now, None)


def guarded(namespace: str, exit: str, phase: Phase) -> NamespaceState:
    """The tenant namespace as the guards of `exit` leave it in `phase`."""
    return NamespaceState(name=namespace, guarded_by=exit, has_finalizer=True,
                          deletion_label=names.DELETION_BLOCKED, phase_annotation=phase.value)


def steady(now: datetime, namespace: str, exit: str, phase: Phase, **fields: Any) -> Observed:
    """An exit under way: namespace guarded, app flag set, credentials allowed from the
    operator's own namespace."""
    return observation(now, guarded(namespace, exit, phase), app_flag_value="true",
                       credential_namespaces=(OPERATOR_NAMESPACE,), **fields)
