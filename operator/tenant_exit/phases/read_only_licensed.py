"""ReadOnlyLicensed: writes are blocked; the tenant can still look at its data
until `readOnly.until`, then the backup starts."""

from __future__ import annotations

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.spec import DatabaseReadOnlyMode
from tenant_exit.api.status import ConditionStatus, Phase
from tenant_exit.phases import backup_running
from tenant_exit.phases.actions import (
    Action,
    RecordReadOnly,
    SetCondition,
    SetPhase,
)
from tenant_exit.phases.guards import guard_missing, keep_guards
from tenant_exit.phases.observed import Observed
from tenant_exit.phases.read_only import keep_read_only

PHASE = Phase.READ_ONLY_LICENSED

_REASONS = {
    DatabaseReadOnlyMode.REVOKE_WRITES: c.WRITES_REVOKED,
    DatabaseReadOnlyMode.SERVER_READ_ONLY: c.SERVER_READ_ONLY,
    DatabaseReadOnlyMode.NONE: c.APP_FLAG_ONLY,
}


def enter(exit: TenantExit, seen: Observed) -> list[Action]:
    read_only = exit.spec.read_only
    assert read_only is not None, "ReadOnlyLicensed is entered only with spec.readOnly"
    mode = read_only.database
    until = f" until {read_only.until.isoformat()}" if read_only.until else ""
    return [
        *keep_read_only(exit, seen),
        SetPhase(PHASE, f"Tenant {exit.spec.tenant_namespace} is read-only{until}"),
        SetCondition(
            c.READ_ONLY_ENFORCED,
            ConditionStatus.TRUE,
            _REASONS[mode],
            f"Read-only enforced ({mode.value}){until}",
        ),
        RecordReadOnly(enforced_at=seen.now, until=read_only.until),
    ]


def decide(exit: TenantExit, seen: Observed) -> list[Action]:
    read_only = exit.spec.read_only
    until = read_only.until if read_only else None
    if until is not None and seen.now < until:
        return [
            *keep_guards(exit, seen, PHASE),
            *keep_read_only(exit, seen),
            SetCondition(
                c.READY,
                ConditionStatus.TRUE,
                c.LICENCE_RUNNING,
                f"Read-only licence runs until {until.isoformat()}; the backup starts then",
            ),
        ]
    missing = guard_missing(seen, "starting the backup")
    if missing is not None:
        return [*keep_guards(exit, seen, PHASE), *keep_read_only(exit, seen), *missing]
    # The guards carry the new phase, so the admission policy's message names it.
    return [
        *keep_guards(exit, seen, backup_running.PHASE),
        *keep_read_only(exit, seen),
        *backup_running.enter(exit, seen),
    ]
