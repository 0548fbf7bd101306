"""Credentials from a mounted Secret's files: botocore re-reads them once the session
nears its end, so a Secret the operator replaced reaches a running worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tenant_exit.storage.file_credentials import (
    CredentialFilesMissing,
    read_files,
    secret_values,
    session_with_files,
)


def write(directory: Path, **files: str) -> None:
    for name, value in files.items():
        (directory / name).write_text(value)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_platform_keys_without_expiration_are_static(tmp_path: Path) -> None:
    write(tmp_path, accessKeyId="AKIDPLATFORM", secretAccessKey="s3cr3t")
    creds = session_with_files(tmp_path).get_credentials()
    assert creds is not None
    frozen = creds.get_frozen_credentials()
    assert (frozen.access_key, frozen.secret_key, frozen.token) == ("AKIDPLATFORM", "s3cr3t", None)
    assert creds.method == "tenant-exit-mounted-secret"


def test_a_renewed_secret_is_read_once_the_session_nears_its_end(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    # 5 minutes left: inside botocore's mandatory refresh window (10 minutes).
    write(tmp_path, accessKeyId="ASIAFIRST", secretAccessKey="first", sessionToken="token-1",
          expiration=stamp(now + timedelta(minutes=5)))
    session = session_with_files(tmp_path)
    # What the kubelet does when the operator replaces the Secret.
    write(tmp_path, accessKeyId="ASIASECOND", secretAccessKey="second", sessionToken="token-2",
          expiration=stamp(now + timedelta(hours=1)))
    creds = session.get_credentials()
    assert creds is not None
    frozen = creds.get_frozen_credentials()
    assert (frozen.access_key, frozen.token) == ("ASIASECOND", "token-2")


def test_a_session_far_from_its_end_is_not_re_read(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    write(tmp_path, accessKeyId="ASIAFIRST", secretAccessKey="first", sessionToken="token-1",
          expiration=stamp(now + timedelta(hours=1)))
    creds = session_with_files(tmp_path).get_credentials()
    assert creds is not None
    assert creds.get_frozen_credentials().token == "token-1"
    write(tmp_path, sessionToken="token-2")
    assert creds.get_frozen_credentials().token == "token-1"


def test_a_missing_file_names_the_file_not_a_value(tmp_path: Path) -> None:
    write(tmp_path, accessKeyId="ASIAFIRST")
    with pytest.raises(CredentialFilesMissing, match="no secretAccessKey in the mounted"):
        read_files(tmp_path)


def test_a_bad_expiration_is_refused(tmp_path: Path) -> None:
    write(tmp_path, accessKeyId="A", secretAccessKey="s", expiration="tomorrow")
    with pytest.raises(ValueError):
        read_files(tmp_path)


def test_the_redactor_gets_the_secret_and_the_token(tmp_path: Path) -> None:
    write(tmp_path, accessKeyId="A", secretAccessKey="s3cr3t", sessionToken="tok")
    assert secret_values(str(tmp_path)) == ["s3cr3t", "tok"]
    assert secret_values(None) == []
