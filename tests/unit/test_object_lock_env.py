"""The Object Lock retention the operator chose reaches the worker through the Job's
environment (TENANT_EXIT_OBJECT_LOCK -> WorkerSettings.object_lock, the manifest's),
and the customer's README says until when the backup is locked."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes.client import ApiClient

from tenant_exit.kube.jobs import BackupTerms, build_backup_job
from tenant_exit.settings import OperatorSettings
from tenant_exit.storage.customer_readme import render_readme
from tenant_exit.storage.manifest import RetentionRecord
from tenant_exit.storage.object_lock import whole_second
from tenant_exit.worker.settings import WorkerSettings
from tests.support.exits import make_exit
from tests.unit.test_customer_texts import KEY, MANIFEST_KEY, manifest

UNTIL = datetime(2027, 3, 20, 9, 0, 1, tzinfo=UTC)


def env_of(object_lock: tuple[str, datetime] | None) -> dict[str, dict]:
    exit = make_exit()
    assert exit.spec.destination is not None
    terms = BackupTerms(exit.spec.tenant_namespace, exit.spec.database, exit.spec.documents,
                        exit.spec.destination, object_lock=object_lock)
    job = ApiClient().sanitize_for_serialization(
        build_backup_job(exit.owner, terms, 1, OperatorSettings()))
    return {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_the_retention_reaches_the_worker_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    env = env_of(("COMPLIANCE", UNTIL))
    assert json.loads(env["TENANT_EXIT_OBJECT_LOCK"]["value"]) == {
        "mode": "COMPLIANCE", "retainUntil": "2027-03-20T09:00:01+00:00"}
    assert "TENANT_EXIT_OBJECT_LOCK" not in env_of(None), "no Object Lock, no variable"
    for name, var in env.items():
        if "value" in var:
            monkeypatch.setenv(name, var["value"])
    monkeypatch.setenv("TENANT_EXIT_DB_USER", "dump")
    monkeypatch.setenv("TENANT_EXIT_DB_PASSWORD", "pw")
    settings = WorkerSettings()  # type: ignore[call-arg]
    assert settings.object_lock is not None
    assert (settings.object_lock.mode, settings.object_lock.retain_until) == ("COMPLIANCE", UNTIL)


@pytest.mark.parametrize(("when", "expected"), [
    (datetime(2027, 3, 20, 9, 0, 0, tzinfo=UTC), datetime(2027, 3, 20, 9, 0, 0, tzinfo=UTC)),
    (datetime(2027, 3, 20, 9, 0, 0, 1, tzinfo=UTC), datetime(2027, 3, 20, 9, 0, 1, tzinfo=UTC)),
])
def test_retention_dates_are_rounded_up_to_the_second(when: datetime,
                                                      expected: datetime) -> None:
    """Stores keep whole seconds; a date read back must not look shorter than asked."""
    assert whole_second(when) == expected
    assert whole_second(when) >= when and whole_second(when) - when < timedelta(seconds=1)


@pytest.mark.parametrize(("language", "words"), [("en", "Object Lock (COMPLIANCE) until at "
                                                  "least 2027-03-20T09:00:01+00:00"),
                                                 ("nl", "Object Lock (COMPLIANCE) tot ten "
                                                  "minste 2027-03-20T09:00:01+00:00")])
def test_the_readme_says_until_when_the_backup_is_locked(language: str, words: str) -> None:
    locked = manifest().model_copy(update={
        "retention": RetentionRecord(mode="COMPLIANCE", retain_until=UNTIL)})
    text = render_readme(locked, MANIFEST_KEY, "c" * 64, KEY, "tenant-exits", language)
    assert words in " ".join(text.split())
    plain = render_readme(manifest(), MANIFEST_KEY, "c" * 64, KEY, "tenant-exits", language)
    assert "Object Lock" not in plain
