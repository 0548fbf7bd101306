"""Failures of the restore verification; each maps to its own worker error code.

Messages name schemas, tables, line numbers and server error numbers, never a
statement's text or a value: the mysql client's own error text quotes the
statement near the error, which can hold a client's data.
"""

from __future__ import annotations

from tenant_exit.worker.pipeline import PipelineError


class RestoreLoadFailed(PipelineError):
    """The scratch server refused a statement of the dump."""


class RestoreMismatch(PipelineError):
    """A table or definition in the scratch server differs from the source."""


class RestoreTooLarge(PipelineError):
    """restore: Required, and the source exceeds the scratch limit."""


class RestoreNotPossible(PipelineError):
    """restore: Required, and no scratch image fits the source."""


class RestoreUnavailable(PipelineError):
    """The scratch server did not come up, or runs another family or release."""
