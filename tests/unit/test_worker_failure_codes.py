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
from tenant_exit.storage.file_credentials import CredentialFilesMissing
from tenant_exit.storage.multipart import UploadError
from tenant_exit.worker.completeness import DumpIncomplete
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
    (DumpIncomplete("trigger `ons`.`t` missing from the dump"), Code.DUMP_INCOMPLETE),
    (UploadError("cannot store"), Code.UPLOAD_FAILED),
    (ToolMissing("age is not on PATH"), Code.TOOL_MISSING),
    (denied_s3, Code.STORAGE_REQUEST_FAILED),
    (CredentialFilesMissing("no accessKeyId in the mounted credentials /s3"),
     Code.CONFIG_INVALID),
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


def test_mounted_credentials_without_a_key_end_in_a_termination_message(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore reads the mounted Secret's files when the client is built: an upload
    Secret without `accessKeyId` is a configuration error with its code, not a crash."""
    termination = tmp_path / "termination-log"
    mounted = tmp_path / "s3"
    mounted.mkdir()
    (mounted / "secretAccessKey").write_text("not-shown-Qx81")
    for name, value in {
            "EXIT_NAME": "ons", "ATTEMPT": "1", "DB_HOST": "127.0.0.1", "DB_PORT": "1",
            "DB_USER": "dump", "DB_PASSWORD": "pw", "DB_DATABASES": '["ons"]',
            "DOCUMENTS": "[]", "S3_BUCKET": "exits", "S3_ENDPOINT": "http://127.0.0.1:1",
            "S3_REGION": "us-east-1", "S3_CREDENTIALS_DIR": str(mounted),
            "AGE_RECIPIENTS": '["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"]',
            "TERMINATION_LOG": str(termination)}.items():
        monkeypatch.setenv(f"TENANT_EXIT_{name}", value)
    assert run_backup() != 0
    message = json.loads(termination.read_text())
    assert message["code"] == "ConfigInvalid"
    assert "no accessKeyId in the mounted credentials" in message["error"]
    assert "not-shown-Qx81" not in termination.read_text()
