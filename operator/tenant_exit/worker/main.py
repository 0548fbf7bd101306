"""`tenant-exit worker backup`: the backup Job's entry point.

Reads `WorkerSettings` from the environment, runs one attempt, and reports
through the termination message and JSON lines on stderr. Exit status 0 means
the manifest is written; anything else means no manifest was written by this
run. Every message leaving the process passes the redactor first.
"""

from __future__ import annotations

import os
from pathlib import Path

import pymysql
from pydantic import ValidationError

from tenant_exit.api.worker_errors import ACCESS_DENIED_MYSQL_ERRORS, WorkerErrorCode
from tenant_exit.mysql.connect import DatabaseUnavailable
from tenant_exit.storage.file_credentials import (
    CredentialFilesMissing,
    secret_values,
    session_with_files,
)
from tenant_exit.storage.multipart import UploadError, describe_error
from tenant_exit.storage.s3client import make_client
from tenant_exit.worker.backup import run_backup_attempt
from tenant_exit.worker.completeness import DumpIncomplete
from tenant_exit.worker.pipeline import PipelineError
from tenant_exit.worker.privileges import MissingPrivileges
from tenant_exit.worker.processes import ToolMissing
from tenant_exit.worker.progress import ProgressLog, secrets_from_env
from tenant_exit.worker.restore.errors import (
    RestoreLoadFailed,
    RestoreMismatch,
    RestoreNotPossible,
    RestoreTooLarge,
    RestoreUnavailable,
)
from tenant_exit.worker.settings import WorkerSettings
from tenant_exit.worker.summary import failure_json, write_termination_message

_RESTORE_CODES: tuple[tuple[type[BaseException], WorkerErrorCode], ...] = (
    (RestoreLoadFailed, WorkerErrorCode.RESTORE_LOAD_FAILED),
    (RestoreMismatch, WorkerErrorCode.RESTORE_MISMATCH),
    (RestoreTooLarge, WorkerErrorCode.RESTORE_TOO_LARGE),
    (RestoreNotPossible, WorkerErrorCode.RESTORE_NOT_POSSIBLE),
    (RestoreUnavailable, WorkerErrorCode.RESTORE_UNAVAILABLE),
)
"""Checked before PipelineError, which they extend."""

EXIT_FAILED = 1
EXIT_CONFIG = 2

# Failures whose message we wrote ourselves and which read as a sentence.
_OWN_ERRORS = (PipelineError, UploadError, DatabaseUnavailable, ToolMissing, LookupError,
               MissingPrivileges, CredentialFilesMissing)


def failure_code(err: BaseException) -> WorkerErrorCode:
    """The stable code the operator decides on (never on the sentence)."""
    code = WorkerErrorCode
    restore = next((found for kind, found in _RESTORE_CODES if isinstance(err, kind)), None)
    if restore is not None:
        return restore
    if isinstance(err, MissingPrivileges):
        return code.DUMP_PRIVILEGES_MISSING
    if isinstance(err, CredentialFilesMissing):
        return code.CONFIG_INVALID
    if isinstance(err, DumpIncomplete):
        return code.DUMP_INCOMPLETE
    if isinstance(err, DatabaseUnavailable):
        denied = err.mysql_errno in ACCESS_DENIED_MYSQL_ERRORS
        return code.DATABASE_ACCESS_DENIED if denied else code.DATABASE_UNAVAILABLE
    if isinstance(err, pymysql.err.MySQLError):
        number = err.args[0] if err.args else None
        denied = number in ACCESS_DENIED_MYSQL_ERRORS
        return code.DATABASE_ACCESS_DENIED if denied else code.DATABASE_UNAVAILABLE
    from botocore.exceptions import BotoCoreError, ClientError

    mapped: list[tuple[type[BaseException] | tuple[type[BaseException], ...], WorkerErrorCode]] = [
        (PipelineError, code.PIPELINE_FAILED), (UploadError, code.UPLOAD_FAILED),
        (ToolMissing, code.TOOL_MISSING), (LookupError, code.NOT_FOUND),
        ((ClientError, BotoCoreError), code.STORAGE_REQUEST_FAILED),
    ]
    return next((found for kinds, found in mapped if isinstance(err, kinds)), code.UNEXPECTED)


def describe_failure(err: BaseException, store: str = "") -> str:
    """One line for the termination message; `store` names bucket and endpoint, so
    an S3 error (e.g. wrong credentials) says which store refused."""
    if isinstance(err, _OWN_ERRORS):
        return str(err)
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(err, ClientError | BotoCoreError):
        where = f" to {store}" if store else ""
        return f"object storage request{where} failed: {describe_error(err)}"
    return f"unexpected {type(err).__name__}: {err}"


def _config_problems(err: ValidationError) -> str:
    # Never echo input values: a malformed variable could contain a secret.
    return "; ".join(f"TENANT_EXIT_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
                     for e in err.errors())


def run_backup() -> int:
    redact = secrets_from_env(secret_values(os.environ.get("TENANT_EXIT_S3_CREDENTIALS_DIR")))
    try:
        settings = WorkerSettings()  # type: ignore[call-arg]  # fields come from env
    except ValidationError as err:
        message = redact(f"invalid worker configuration: {_config_problems(err)}")
        ProgressLog(redact=redact).event("failed", error=message)
        path = os.environ.get("TENANT_EXIT_TERMINATION_LOG") or "/dev/termination-log"
        write_termination_message(Path(path),
                                  failure_json(WorkerErrorCode.CONFIG_INVALID, message))
        return EXIT_CONFIG
    log = ProgressLog(interval=settings.progress_interval_seconds, redact=redact)
    try:
        # Presigned: no keys at all, so no client (one would look for credentials).
        # Inside the try: botocore reads the mounted credentials here, and a Secret
        # without a key must end in a termination message, not a traceback.
        client = None if settings.presigned else make_client(
            endpoint_url=settings.s3_endpoint, region=settings.s3_region,
            max_attempts=settings.s3_max_attempts,
            session=session_with_files(settings.s3_credentials_dir))
        summary = run_backup_attempt(settings, client, log)
    except Exception as err:
        store = f"s3://{settings.s3_bucket} at {settings.s3_endpoint or 'the AWS default endpoint'}"
        message = redact(describe_failure(err, store))
        code = failure_code(err)
        log.event("failed", code=code.value, error=message)
        write_termination_message(settings.termination_log, failure_json(code, message))
        return EXIT_FAILED
    write_termination_message(settings.termination_log, summary.to_json())
    log.event("done", summary=summary.to_json())
    return 0
