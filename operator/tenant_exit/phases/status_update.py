"""Fold status actions into a new status (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from tenant_exit.api import conditions as c
from tenant_exit.api.status import BackupStatus, ReadOnlyStatus, TenantExitStatus
from tenant_exit.phases.actions import (
    RecordBackupJob,
    RecordReadOnly,
    RecordReadOnlyAccounts,
    SetCondition,
    SetPhase,
    StatusAction,
)


def fold(
    status: TenantExitStatus,
    actions: Iterable[StatusAction],
    *,
    generation: int,
    now: datetime,
) -> TenantExitStatus:
    updated = status.model_copy(update={"observed_generation": generation})
    for action in actions:
        updated = _apply(updated, action, generation, now)
    return updated


def _apply(
    status: TenantExitStatus, action: StatusAction, generation: int, now: datetime
) -> TenantExitStatus:
    if isinstance(action, SetPhase):
        return status.model_copy(update={"phase": action.phase})
    if isinstance(action, SetCondition):
        conditions = c.set_condition(
            status.conditions,
            type=action.type,
            status=action.status,
            reason=action.reason,
            message=action.message,
            generation=generation,
            now=now,
        )
        return status.model_copy(update={"conditions": conditions})
    if isinstance(action, RecordReadOnly):
        read_only = status.read_only or ReadOnlyStatus()
        enforced_at = read_only.enforced_at or action.enforced_at
        read_only = read_only.model_copy(update={"enforced_at": enforced_at, "until": action.until})
        return status.model_copy(update={"read_only": read_only})
    if isinstance(action, RecordReadOnlyAccounts):
        read_only = (status.read_only or ReadOnlyStatus()).model_copy(
            update={"accounts": sorted(action.accounts)}
        )
        return status.model_copy(update={"read_only": read_only})
    if isinstance(action, RecordBackupJob):
        backup = (status.backup or BackupStatus()).model_copy(
            update={
                "job": action.job,
                "attempts": max(action.attempt, (status.backup or BackupStatus()).attempts),
                "started_at": action.started_at,
            }
        )
        return status.model_copy(update={"backup": backup})
    raise AssertionError(f"unknown status action {action!r}")
