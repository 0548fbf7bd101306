"""Keeping the read-only licence in force, in every phase that holds the tenant.

Its own module because both ReadOnlyLicensed and the later phases use it (and
ReadOnlyLicensed hands over to BackupRunning: importing each other would cycle).
"""

from __future__ import annotations

from tenant_exit.api.resource import TenantExit
from tenant_exit.api.spec import DatabaseReadOnlyMode
from tenant_exit.phases.actions import Action, EnforceReadOnly, SetAppFlag
from tenant_exit.phases.observed import Observed


def keep_read_only(exit: TenantExit, seen: Observed) -> list[Action]:
    """Enforce (again) what the licence requires. Enforcing is idempotent and re-run
    on every pass, so a grant someone restored by hand is revoked again."""
    read_only = exit.spec.read_only
    if read_only is None:
        return []
    actions: list[Action] = []
    if read_only.database is not DatabaseReadOnlyMode.NONE:
        actions.append(EnforceReadOnly(mode=read_only.database))
    flag = read_only.app_flag
    if flag is not None and seen.app_flag_value != flag.value:
        actions.append(SetAppFlag(flag=flag))
    return actions
