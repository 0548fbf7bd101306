"""The worker turns each failure into a stable code for the operator; the code comes
from the exception's type and the server's error number, not from its sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pymysql
import pytest
from botocore.exceptions import ClientError

from tenant_exit.api.worker_errors import NEEDS_A_FIX, WorkerErrorCode
from tenant_exit.mysql.connect import DatabaseUnavailable, connect
from tenant_exit.storage.multipart import UploadError
from tenant_exit.worker.main import failure_code, run_backup
from tenant_exit.worker.pipeline import PipelineError
from tenant_exit.worker.privileges import MissingPrivileges
from tenant_exit.worker.processes import ToolMissing

Code = WorkerErrorCode
denied_s3 = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")


@pytest.mark.parametrize(("error", "code"), [
    (DatabaseUnavailable("Access denied for user 'dump'", mysql_errno=1045),
     Code.DATABASE_ACCESS_DENIED),
    (DatabaseUnavailable("worded differently", mysql_errno=1044), Code.DATABASE_ACCESS_DENIED),
    (DatabaseUnavailable("Access denied (but no number)"), Code.DATABASE_UNAVAILABLE),
    (DatabaseUnavailable("Can't connect", mysql_errno=2003), Code.DATABASE_UNAVAILABLE),
    (pymysql.err.OperationalError(1227, "Access denied; you need SUPER"),
     Code.DATABASE_ACCESS_DENIED),
    (pymysql.err.OperationalError(2013, "Lost connection"), Code.DATABASE_UNAVAILABLE),
    (MissingPrivileges("the dump account lacks privileges"), Code.DUMP_PRIVILEGES_MISSING),
    (PipelineError("mysqldump failed"), Code.PIPELINE_FAILED),
    (UploadError("cannot store"), Code.UPLOAD_FAILED),
    (ToolMissing("age is not on PATH"), Code.TOOL_MISSING),
    (denied_s3, Code.STORAGE_REQUEST_FAILED),
    (ValueError("Access denied"), Code.UNEXPECTED),
])
def test_failure_codes(error: BaseException, code: WorkerErrorCode) -> None:
    assert failure_code(error) is code


def test_only_a_refused_or_underprivileged_account_or_an_impossible_restore_needs_a_fix(
) -> None:
    assert {Code.DATABASE_ACCESS_DENIED, Code.DUMP_PRIVILEGES_MISSING,
            Code.RESTORE_TOO_LARGE, Code.RESTORE_NOT_POSSIBLE} == NEEDS_A_FIX


def test_a_refused_connection_carries_the_servers_error_number() -> None:
    """No server listens on port 1: the client's own error number (2003), no text read."""
    with pytest.raises(DatabaseUnavailable) as caught:
        connect("127.0.0.1", 1, "dump", "secret", connect_timeout=2)
    assert caught.value.mysql_errno == 2003
    assert failure_code(caught.value) is Code.DATABASE_UNAVAILABLE


def test_an_invalid_configuration_reports_its_code(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    termination = tmp_path / "termination-log"
    for name in ("TENANT_EXIT_EXIT_NAME", "TENANT_EXIT_DB_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TENANT_EXIT_TERMINATION_LOG", str(termination))
    assert run_backup() == 2
    message = json.loads(termination.read_text())
    assert message["code"] == "ConfigInvalid"
    assert message["error"].startswith("invalid worker configuration")
