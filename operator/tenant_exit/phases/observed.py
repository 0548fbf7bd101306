"""What the handlers saw in the cluster before deciding; plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class NamespaceState:
    name: str
    terminating: bool = False
    guarded_by: str | None = None
    """Value of the tenantexit.io/exit label: the exit that holds the namespace."""
    has_finalizer: bool = False
    deletion_label: str | None = None
    phase_annotation: str | None = None
    unretained_volumes: tuple[str, ...] = ()
    """PVs bound to claims in the namespace whose reclaim policy is not Retain."""


@dataclass(frozen=True)
class JobState:
    name: str
    created_at: datetime | None = None
    active: int = 0
    succeeded: bool = False
    failed: bool = False
    failure_message: str = ""
    termination_message: str = ""
    """The worker's one-line JSON summary (issue 5 reads it)."""


@dataclass(frozen=True)
class Observed:
    now: datetime
    operator_namespace: str
    namespace: NamespaceState | None
    """None: the tenant namespace does not exist."""
    rivals: tuple[str, ...] = ()
    """Other TenantExits for the same namespace created before this one."""
    app_flag_value: str | None = None
    """Current value of the app flag key (None: key or ConfigMap missing)."""
    backup_job: JobState | None = None
    """The Job of the current attempt, if it exists."""
    credential_namespaces: tuple[str, ...] = field(default_factory=tuple)
    """Namespaces the operator may copy destination credentials from."""
