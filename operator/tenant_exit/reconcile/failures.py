"""Turning an adapter's exception into a condition a platform engineer can act on.

Only our own, secret-free messages cross this line: API errors are reduced to
status and reason (their bodies can echo request data), and exceptions are
re-raised `from None` so no chained traceback carries the original along.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pymysql
from kubernetes.client.exceptions import ApiException

from tenant_exit.api import conditions as c
from tenant_exit.kube.errors import describe
from tenant_exit.kube.secrets import SecretProblem
from tenant_exit.mysql.connect import DatabaseUnavailable
from tenant_exit.mysql.grants import GrantProblem
from tenant_exit.phases import actions as a

# MySQL errors no retry can fix: access denied (1044, 1045, 1142, 1227) and
# "you are not allowed to create a user with GRANT" (1410).
PERMANENT_MYSQL_ERRORS = frozenset({1044, 1045, 1142, 1227, 1410})


@dataclass
class ExitError(Exception):
    reason: str
    message: str
    permanent: bool

    def __str__(self) -> str:
        return self.message


_REASONS: dict[type, str] = {
    a.ApplyGuards: c.GUARDS_FAILED,
    a.RemoveGuards: c.CANCEL_FAILED,
    a.EnforceReadOnly: c.READ_ONLY_FAILED,
    a.SetAppFlag: c.READ_ONLY_FAILED,
    a.RevertReadOnly: c.CANCEL_FAILED,
    a.ResetAppFlag: c.CANCEL_FAILED,
    a.CopyS3Credentials: c.BACKUP_START_FAILED,
    a.RemoveS3Credentials: c.CANCEL_FAILED,
    a.CreateBackupJob: c.BACKUP_START_FAILED,
    a.DeliverBackup: c.DELIVERY_FAILED,
    a.RemoveDownloadLinks: c.CANCEL_FAILED,
    a.AllowNamespaceDeletion: c.DELETION_FAILED,
    a.ReleaseVolumes: c.DELETION_FAILED,
    a.DropDatabases: c.DELETION_FAILED,
    a.DeleteNamespace: c.DELETION_FAILED,
    a.ReleaseNamespace: c.DELETION_FAILED,
    a.WriteCertificate: c.DELETION_FAILED,
    a.ForgetExitRecords: c.DELETION_FAILED,
}


def classify(action: a.SideEffect, exit_name: str, error: Exception) -> ExitError:
    reason = _REASONS[type(action)]
    what = f"TenantExit {exit_name}: {type(action).__name__} failed"
    if isinstance(error, SecretProblem | GrantProblem):
        return ExitError(reason, f"{what}: {error}", permanent=True)
    if isinstance(error, DatabaseUnavailable):
        code = re.search(r"MySQL error (\d+)", str(error))
        permanent = code is not None and int(code.group(1)) in PERMANENT_MYSQL_ERRORS
        return ExitError(reason, f"{what}: {error}", permanent=permanent)
    if isinstance(error, pymysql.err.MySQLError):
        number = error.args[0] if error.args and isinstance(error.args[0], int) else 0
        text = error.args[1] if len(error.args) > 1 else type(error).__name__
        return ExitError(
            reason, f"{what}: MySQL error {number}: {text}", number in PERMANENT_MYSQL_ERRORS
        )
    if isinstance(error, ApiException):
        permanent = error.status in (401, 403, 422)
        return ExitError(reason, f"{what}: Kubernetes API answered {describe(error)}", permanent)
    return ExitError(reason, f"{what}: {type(error).__name__}", permanent=False)


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
