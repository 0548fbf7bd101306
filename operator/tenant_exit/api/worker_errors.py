"""The stable codes the backup worker reports on failure, shared with the operator.

The worker's termination message on failure is `{"code": "<code>", "error":
"<sentence>"}`. The sentence is for humans and may change; the operator decides
only on the code (a new attempt, or stall and wait for a fix).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class WorkerErrorCode(StrEnum):
    CONFIG_INVALID = "ConfigInvalid"
    """The Job's TENANT_EXIT_* environment does not validate."""
    DATABASE_ACCESS_DENIED = "DatabaseAccessDenied"
    """The server refused the dump account (wrong password, no access)."""
    DATABASE_UNAVAILABLE = "DatabaseUnavailable"
    """The server could not be reached or failed otherwise."""
    DUMP_PRIVILEGES_MISSING = "DumpPrivilegesMissing"
    """The dump account lacks privileges mysqldump needs for a complete dump."""
    TOOL_MISSING = "ToolMissing"
    """A command-line tool is missing from the worker image."""
    PIPELINE_FAILED = "PipelineFailed"
    """A stage of dump, archive, compression or encryption failed."""
    UPLOAD_FAILED = "UploadFailed"
    """An object could not be stored."""
    STORAGE_REQUEST_FAILED = "StorageRequestFailed"
    """Another request to the object store failed (e.g. wrong credentials)."""
    NOT_FOUND = "NotFound"
    """Something the worker looked up does not exist."""
    RESTORE_LOAD_FAILED = "RestoreLoadFailed"
    """The scratch server refused a statement of the dump (names line and table)."""
    RESTORE_MISMATCH = "RestoreMismatch"
    """A table or definition in the scratch server differs from the source."""
    RESTORE_TOO_LARGE = "RestoreTooLarge"
    """restore: Required and the source is larger than the scratch limit."""
    RESTORE_NOT_POSSIBLE = "RestoreNotPossible"
    """restore: Required and no scratch image fits the source's family and version."""
    RESTORE_UNAVAILABLE = "RestoreUnavailable"
    """The scratch server did not start or is not the source's release."""
    UNEXPECTED = "Unexpected"
    """Anything else."""


NEEDS_A_FIX: Final = frozenset({
    WorkerErrorCode.DATABASE_ACCESS_DENIED,
    WorkerErrorCode.DUMP_PRIVILEGES_MISSING,
    # Only a change of the platform's limits/images or of spec.verification helps.
    WorkerErrorCode.RESTORE_TOO_LARGE,
    WorkerErrorCode.RESTORE_NOT_POSSIBLE,
})
"""Failures no new attempt can fix: the exit stalls at once and waits for a change."""

ACCESS_DENIED_MYSQL_ERRORS: Final = frozenset({1044, 1045, 1227, 1698})
"""MySQL error numbers of a refused account: access denied to a database (1044),
for a user (1045), for lack of a privilege (1227), without a password (1698)."""
