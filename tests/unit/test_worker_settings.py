"""The worker's environment contract (what the operator's Job builder sets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from tenant_exit.api.spec import Database, DocumentVolume
from tenant_exit.worker.settings import DEFAULT_EXCLUDE_TABLES, DocumentSource, WorkerSettings

RECIPIENT = "age1" + "q" * 58


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key, value in {
        "TENANT_EXIT_EXIT_NAME": "zorg-noord",
        "TENANT_EXIT_ATTEMPT": "2",
        "TENANT_EXIT_DB_HOST": "mysql.tenant",
        "TENANT_EXIT_DB_USER": "dump",
        "TENANT_EXIT_DB_PASSWORD": "s3cr3t-pw",
        "TENANT_EXIT_S3_BUCKET": "exits",
        "TENANT_EXIT_S3_PREFIX": "tenants",
        "TENANT_EXIT_AGE_RECIPIENTS": json.dumps([RECIPIENT]),
    }.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def test_defaults_and_layout(env: pytest.MonkeyPatch) -> None:
    s = WorkerSettings()  # type: ignore[call-arg]
    assert s.db_port == 3306
    assert s.db_databases == []
    assert s.db_exclude_tables == DEFAULT_EXCLUDE_TABLES
    assert s.documents == []
    assert s.termination_log == Path("/dev/termination-log")
    assert s.object_prefix == "tenants/zorg-noord/attempt-2/"
    assert s.exit_prefix == "tenants/zorg-noord/"
    # Stale uploads are aborted only where ended runs wrote, never below the exit.
    assert s.ended_attempt_prefixes == ["tenants/zorg-noord/attempt-1/",
                                        "tenants/zorg-noord/attempt-2/"]


def test_json_lists_and_documents(env: pytest.MonkeyPatch) -> None:
    env.setenv("TENANT_EXIT_DB_DATABASES", '["ons", "planning"]')
    env.setenv("TENANT_EXIT_DOCUMENTS", json.dumps([
        {"name": "client-documents", "path": "/mnt/docs"},
        {"name": "scans", "path": "/mnt/scans", "exclude": ["cache/**"]},
    ]))
    s = WorkerSettings()  # type: ignore[call-arg]
    assert s.db_databases == ["ons", "planning"]
    assert s.documents[0].exclude == ["import/**", "export/**", "tmp/**"]
    assert s.documents[1].exclude == ["cache/**"]
    assert s.documents[1].path == Path("/mnt/scans")


def test_password_is_masked(env: pytest.MonkeyPatch) -> None:
    s = WorkerSettings()  # type: ignore[call-arg]
    assert "s3cr3t-pw" not in repr(s) and "s3cr3t-pw" not in str(s)
    assert s.db_password.get_secret_value() == "s3cr3t-pw"


def test_rejects_what_is_not_an_age_recipient(env: pytest.MonkeyPatch) -> None:
    env.setenv("TENANT_EXIT_AGE_RECIPIENTS", '["ssh-ed25519 AAAA"]')
    with pytest.raises(ValidationError, match="age X25519 recipient"):
        WorkerSettings()  # type: ignore[call-arg]


def test_attempt_must_be_positive(env: pytest.MonkeyPatch) -> None:
    env.setenv("TENANT_EXIT_ATTEMPT", "0")
    with pytest.raises(ValidationError):
        WorkerSettings()  # type: ignore[call-arg]


def test_a_job_without_exclusions_excludes_what_the_spec_defaults_to(
        env: pytest.MonkeyPatch) -> None:
    s = WorkerSettings()  # type: ignore[call-arg]
    assert s.db_exclude_tables == Database(host="db", credentials_secret="x").exclude_tables
    docs = DocumentSource(name="docs", path=Path("/data"))
    assert docs.exclude == DocumentVolume(claim_name="docs").exclude
