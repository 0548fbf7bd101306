"""Keeping the read-only licence in force, in every phase that holds the tenant.

Its own module because both ReadOnlyLicensed and the later phases use it (and
ReadOnlyLicensed hands over to BackupRunning: importing each other would cycle).
"""

from __future__ import annotations

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.spec import DatabaseReadOnlyMode
from tenant_exit.api.status import ConditionStatus
from tenant_exit.phases.actions import (
    Action,
    EnforceReadOnly,
    RecordReadOnly,
    SetAppFlag,
    SetCondition,
)
from tenant_exit.phases.observed import Observed


def keep_read_only(exit: TenantExit, seen: Observed) -> list[Action]:
    """Enforce (again) what the licence requires, and without a licence the write
    freeze (RevokeWrites): issue 10, no backup of a database that can still be
    written. Enforcing is idempotent and re-run on every pass, so a grant someone
    restored by hand is revoked again."""
    mode = exit.spec.freeze_mode()
    actions: list[Action] = []
    if mode is not DatabaseReadOnlyMode.NONE:
        actions.append(EnforceReadOnly(mode=mode))
    read_only = exit.spec.read_only
    if read_only is None:
        return actions
    flag = read_only.app_flag
    if flag is not None and seen.app_flag_value != flag.value:
        actions.append(SetAppFlag(flag=flag))
    return actions


def freeze_entered(exit: TenantExit, seen: Observed) -> list[Action]:
    """Entering BackupRunning without a licence period: writes are frozen first
    (RevokeWrites), recorded like a licence so a cancel restores the grants."""
    assert exit.spec.read_only is None, "with a licence, ReadOnlyLicensed froze the writes"
    return [
        *keep_read_only(exit, seen),
        SetCondition(c.READ_ONLY_ENFORCED, ConditionStatus.TRUE, c.WRITES_REVOKED,
                     "Writes frozen (RevokeWrites) before the backup: without spec.readOnly "
                     "the exit still never dumps a database that can be written"),
        RecordReadOnly(enforced_at=seen.now, until=None),
    ]
