"""What an exit changed in the database that only its revert record can undo.

Pure: the cancel path asks this before trusting a missing record to mean
"nothing to restore" (kube/records.require_record acts on the answer)."""

from __future__ import annotations

from tenant_exit.api.resource import TenantExit
from tenant_exit.api.spec import DatabaseReadOnlyMode

LOST_ACKNOWLEDGED_VALUE = "acknowledged"


def lost_changes(exit: TenantExit) -> str | None:
    """A phrase naming what the record would restore; None when the exit changed
    nothing in the database."""
    read_only = exit.status.read_only
    if read_only is None or read_only.enforced_at is None:
        return None
    if read_only.accounts:
        return f"the write grants of {', '.join(read_only.accounts)}"
    mode = exit.spec.freeze_mode()
    if mode is DatabaseReadOnlyMode.SERVER_READ_ONLY:
        return f"the read_only flag of {exit.spec.database.host}:{exit.spec.database.port}"
    return None
