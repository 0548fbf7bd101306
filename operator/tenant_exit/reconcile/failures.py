"""Turning an adapter's exception into a condition a platform engineer can act on.

Only our own, secret-free messages cross this line: API errors are reduced to
status and reason (their bodies can echo request data), and exceptions are
re-raised `from None` so no chained traceback carries the original along.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

import pymysql
from kubernetes.client.exceptions import ApiException

from tenant_exit.api import conditions as c
from tenant_exit.kube.errors import describe
from tenant_exit.kube.secrets import SecretProblem
from tenant_exit.mysql.connect import DatabaseUnavailable
from tenant_exit.mysql.grants import GrantProblem
from tenant_exit.phases import actions as a
from tenant_exit.storage.multipart import UploadError
from tenant_exit.storage.presigned_issue import TooManyObjects
from tenant_exit.storage.session_policy import PolicyTooLong
from tenant_exit.storage.sts import SessionRefused

# MySQL errors no retry can fix: access denied (1044, 1045, 1142, 1227) and
# "you are not allowed to create a user with GRANT" (1410).
PERMANENT_MYSQL_ERRORS = frozenset({1044, 1045, 1142, 1227, 1410})


ADAPTER_FAILURE_REASONS: frozenset[str] = frozenset(
    {action.reason for action in get_args(a.SideEffect)} | {c.OBSERVE_FAILED}
)
"""The reasons an ExitError can carry: a Stalled condition with one of them was
set by a permanent adapter failure (not by a phase's own decision)."""


@dataclass
class ExitError(Exception):
    reason: str
    message: str
    permanent: bool
    unexpected: bool = False
    """No adapter error we know: worth a traceback in the operator's log."""

    def __str__(self) -> str:
        return self.message


def classify(action: a.SideEffect, exit_name: str, error: Exception) -> ExitError:
    reason = action.reason
    what = f"TenantExit {exit_name}: {type(action).__name__} failed"
    if isinstance(error, SecretProblem | GrantProblem | PolicyTooLong | TooManyObjects):
        return ExitError(reason, f"{what}: {error}", permanent=True)
    if isinstance(error, SessionRefused):
        return ExitError(reason, f"{what}: {error}", permanent=error.permanent)
    if isinstance(error, DatabaseUnavailable):
        permanent = error.mysql_errno in PERMANENT_MYSQL_ERRORS
        return ExitError(reason, f"{what}: {error}", permanent=permanent)
    if isinstance(error, pymysql.err.MySQLError):
        number = error.args[0] if error.args and isinstance(error.args[0], int) else 0
        text = error.args[1] if len(error.args) > 1 else type(error).__name__
        return ExitError(
            reason, f"{what}: MySQL error {number}: {text}", number in PERMANENT_MYSQL_ERRORS
        )
    if isinstance(error, UploadError):  # its messages name bucket and key, no secret
        return ExitError(reason, f"{what}: {error}", permanent=False)
    if isinstance(error, ApiException):
        permanent = error.status in (401, 403, 422)
        return ExitError(reason, f"{what}: Kubernetes API answered {describe(error)}", permanent)
    return ExitError(reason, f"{what}: {type(error).__name__}", permanent=False, unexpected=True)


def classify_observation(exit_name: str, error: Exception) -> ExitError:
    """A failure while reading the cluster before deciding (no action ran yet)."""
    what = f"TenantExit {exit_name}: reading the exit's state failed"
    if isinstance(error, SecretProblem):
        return ExitError(c.OBSERVE_FAILED, f"{what}: {error}", permanent=True)
    if isinstance(error, ApiException):
        permanent = error.status in (401, 403)
        return ExitError(c.OBSERVE_FAILED, f"{what}: Kubernetes API answered {describe(error)}",
                         permanent)
    return ExitError(c.OBSERVE_FAILED, f"{what}: {type(error).__name__}", permanent=False)
