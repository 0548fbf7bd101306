"""What a decision asks for. Side-effect actions are executed by adapters, in
order; status actions are folded into the new status by `status_update.fold`.

Every side-effect action is idempotent: executing it twice (a handler killed
mid-way runs again) ends in the same state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tenant_exit.api.spec import AppFlag, DatabaseReadOnlyMode
from tenant_exit.api.status import ConditionStatus, Phase

# --- side effects ----------------------------------------------------------


@dataclass(frozen=True)
class ApplyGuards:
    """Namespace finalizer + labels + phase annotation; bound PVs set to Retain."""

    phase: Phase


@dataclass(frozen=True)
class RemoveGuards:
    """Undo ApplyGuards: labels, annotation, finalizer, original reclaim policies."""


@dataclass(frozen=True)
class EnforceReadOnly:
    mode: DatabaseReadOnlyMode


@dataclass(frozen=True)
class RevertReadOnly:
    """Restore the remembered grants / read_only flag; a no-op if none remembered."""


@dataclass(frozen=True)
class SetAppFlag:
    flag: AppFlag


@dataclass(frozen=True)
class ResetAppFlag:
    flag: AppFlag


@dataclass(frozen=True)
class CopyS3Credentials:
    """Copy the destination's credentials into the tenant namespace for the Job."""


@dataclass(frozen=True)
class RemoveS3Credentials:
    """Delete the copy made by CopyS3Credentials."""


@dataclass(frozen=True)
class CreateBackupJob:
    attempt: int


SideEffect = (
    ApplyGuards
    | RemoveGuards
    | EnforceReadOnly
    | RevertReadOnly
    | SetAppFlag
    | ResetAppFlag
    | CopyS3Credentials
    | RemoveS3Credentials
    | CreateBackupJob
)

# --- status ------------------------------------------------------------------


@dataclass(frozen=True)
class SetPhase:
    phase: Phase
    message: str


@dataclass(frozen=True)
class SetCondition:
    type: str
    status: ConditionStatus
    reason: str
    message: str


@dataclass(frozen=True)
class RecordReadOnly:
    enforced_at: datetime
    until: datetime | None


@dataclass(frozen=True)
class RecordReadOnlyAccounts:
    """Reported by the read-only adapter: which accounts lost their writes."""

    accounts: tuple[str, ...]


@dataclass(frozen=True)
class RecordBackupJob:
    job: str
    attempt: int
    started_at: datetime


@dataclass(frozen=True)
class HoldDeletion:
    """The TenantExit may not be removed yet (from Deleting on the exit completes)."""

    message: str


StatusAction = SetPhase | SetCondition | RecordReadOnly | RecordReadOnlyAccounts | RecordBackupJob

Action = SideEffect | StatusAction | HoldDeletion


def side_effects(actions: list[Action]) -> list[SideEffect]:
    return [a for a in actions if isinstance(a, SideEffect)]


def status_actions(actions: list[Action]) -> list[StatusAction]:
    return [a for a in actions if isinstance(a, StatusAction)]
