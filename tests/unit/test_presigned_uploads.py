"""uploadCredentials Presigned, the pure parts: the presigned file's format, the
window that fits a Secret, the top-up decision, and URLs never reaching a repr
or a log line."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import BackupRetention, Phase
from tenant_exit.phases import actions as a
from tenant_exit.phases.backup_running import decide_finished_job, presigned_due
from tenant_exit.phases.observed import BackupCheck, JobState, PresignedSeen
from tenant_exit.reconcile.failures import classify
from tenant_exit.storage.manifest import RetentionRecord
from tenant_exit.storage.presigned_file import (
    ObjectUrls,
    PresignedFileInvalid,
    PresignedUploads,
    parse,
    render,
)
from tenant_exit.storage.presigned_issue import (
    MIN_WINDOW,
    SECRET_BUDGET,
    TooManyObjects,
    window_for,
)
from tenant_exit.worker.progress import ProgressLog, Redactor
from tests.support.exits import example_spec, make_exit
from tests.support.observed import steady

NOW = datetime(2027, 3, 2, 12, 0, tzinfo=UTC)
SIGNED = ("https://s3.example.net/exits/e-0a1b2c3d/attempt-1/manifest.json?partNumber=1"
          "&uploadId=abc&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F"
          "20270302%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20270302T120000Z"
          "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "f" * 64)
QUERY = SIGNED.split("?", 1)[1]


def plan(**changes: Any) -> PresignedUploads:
    fields: dict[str, Any] = {
        "bucket": "tenant-exits", "attempt": 2, "issued_at": NOW,
        "expires_at": NOW + timedelta(hours=1), "part_size_mib": 32,
        "retention": RetentionRecord(mode="COMPLIANCE", retain_until=NOW + timedelta(days=9)),
        "uploads": {"k/manifest.json": ObjectUrls(
            key="k/manifest.json", upload_id="u1", content_type="application/json",
            first_part=17, parts=(SIGNED, SIGNED + "2"), complete=SIGNED + "c",
            abort=SIGNED + "a")}}
    fields.update(changes)
    return PresignedUploads(**fields)


def test_the_file_round_trips() -> None:
    original = plan()
    again = parse(render(original))
    assert again == original
    upload = again.uploads["k/manifest.json"]
    assert (upload.first_part, upload.last_part) == (17, 18)
    assert upload.part_url(17) == SIGNED and upload.part_url(18) == SIGNED + "2"
    assert upload.part_url(16) is None and upload.part_url(19) is None
    assert parse(render(plan(retention=None))).retention is None


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "presigned.json is not JSON"),
    ('{"version": 7}', "presigned.json is not version 1 of the format"),
    ('{"version": 1, "bucket": "b"}', "presigned.json lacks 'uploads'"),
    (json.dumps({**json.loads(render(plan())), "attempt": SIGNED}),
     "presigned.json has a field of the wrong type (ValueError)"),
])
def test_a_bad_file_is_named_without_its_values(text: str, message: str) -> None:
    with pytest.raises(PresignedFileInvalid) as error:
        parse(text)
    assert str(error.value) == message
    assert QUERY not in str(error.value)


def test_no_url_in_a_repr() -> None:
    shown = repr(plan()) + repr(plan().uploads["k/manifest.json"]) + str(plan())
    assert "X-Amz" not in shown and "https://" not in shown
    assert "k/manifest.json" in repr(plan().uploads["k/manifest.json"])


def test_the_redactor_masks_a_presigned_query_in_any_log_line() -> None:
    stream = io.StringIO()
    log = ProgressLog(stream, redact=Redactor([]))
    log.event("failed", error=f"PUT {SIGNED} answered 500", url=SIGNED)
    line = stream.getvalue()
    assert QUERY not in line and "X-Amz-Signature" not in line
    assert "https://s3.example.net/exits/e-0a1b2c3d/attempt-1/manifest.json?***" in line
    # An ordinary query (no signature) is left alone.
    assert Redactor([])("see https://example.net/a?b=c") == "see https://example.net/a?b=c"


def test_the_uploads_log_line_names_no_url(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("test").info("issued %s", plan())
    assert "X-Amz" not in caplog.text


def test_the_window_fits_the_secret() -> None:
    assert window_for(objects=5, url_length=600, wanted=64) == 64
    many = window_for(objects=100, url_length=900, wanted=64)
    assert MIN_WINDOW <= many < 64
    assert 100 * 900 * (many + 2) <= SECRET_BUDGET
    with pytest.raises(TooManyObjects) as refused:
        window_for(objects=200, url_length=900, wanted=64)
    assert str(refused.value).startswith("the presigned URLs of 200 objects do not fit one "
                                         "Secret (1 MiB) even with 4 parts each")


def seen(*progress: tuple[int, int | None], issued: datetime = NOW,
         expires: datetime = NOW + timedelta(hours=1)) -> PresignedSeen:
    return PresignedSeen(issued_at=issued, expires_at=expires, window=64, progress=progress)


@pytest.mark.parametrize(("window", "now", "due"), [
    (seen((64, 0), (64, 10)), NOW, False),                     # early days
    (seen((64, 31)), NOW, False),                              # 33 parts left
    (seen((64, 32)), NOW, True),                               # half a window left
    (seen((80, 47), (64, None)), NOW, False),                  # topped up; one complete
    (seen((64, None), (64, None)), NOW + timedelta(minutes=39), False),
    (seen((64, None)), NOW + timedelta(minutes=40), True),     # a third of the hour left
    (seen(), NOW + timedelta(minutes=41), True),               # parts not listed: expiry
    (seen(), NOW, False),
])
def test_when_the_window_is_topped_up(window: PresignedSeen, now: datetime,
                                      due: bool) -> None:
    assert presigned_due(window, now) is due


def presigned_exit() -> TenantExit:
    spec = example_spec()
    spec["destination"]["s3"]["uploadCredentials"] = "Presigned"
    return make_exit(spec=spec, status={"phase": "BackupRunning",
                                        "backup": {"attempts": 2, "job": "x-backup-2"}})


def test_a_running_job_gets_a_top_up_and_an_ended_one_its_leftovers_aborted() -> None:
    exit = presigned_exit()
    running = JobState(name="x-backup-2", active=1)
    observed = steady(NOW, "tenant-zorggroep-noord", "zorggroep-noord", Phase.BACKUP_RUNNING,
                      backup_job=running, presigned=seen((64, 40)))
    actions = decide_finished_job(exit, observed, running)
    assert a.CopyS3Credentials(attempt=2) in actions
    quiet = steady(NOW, "tenant-zorggroep-noord", "zorggroep-noord", Phase.BACKUP_RUNNING,
                   backup_job=running, presigned=seen((64, 3)))
    assert not [x for x in decide_finished_job(exit, quiet, running)
                if isinstance(x, a.CopyS3Credentials)]

    failed = JobState(name="x-backup-2", failed=True, finished_at=NOW)
    ended = steady(NOW, "tenant-zorggroep-noord", "zorggroep-noord", Phase.BACKUP_RUNNING,
                   backup_job=failed, presigned_leftovers=3)
    actions = decide_finished_job(exit, ended, failed)
    assert actions[0] == a.AbortUnfinishedUploads(attempt=2)
    # None unfinished, but the URLs are still there: they go too.
    clean = steady(NOW, "tenant-zorggroep-noord", "zorggroep-noord", Phase.BACKUP_RUNNING,
                   backup_job=failed, presigned_leftovers=0)
    assert decide_finished_job(exit, clean, failed)[0] == a.AbortUnfinishedUploads(attempt=2)
    # Cleaned up (the URLs are gone): nothing more to ask the store.
    done = steady(NOW, "tenant-zorggroep-noord", "zorggroep-noord", Phase.BACKUP_RUNNING,
                  backup_job=failed)
    assert a.AbortUnfinishedUploads(attempt=2) not in decide_finished_job(exit, done, failed)


def test_a_presigned_backup_with_retention_has_it_confirmed_before_the_verify_job() -> None:
    """The worker cannot read its objects' retention back without a key: the operator
    does it, once, before the verify Job; a backup with keys (or no lock) does not."""
    check = BackupCheck(manifest_key="k/manifest.json", manifest_sha256="a" * 64,
                        reported_sha256="a" * 64, manifest_version_id="v7",
                        retention=BackupRetention(mode="COMPLIANCE",
                                                  retain_until=NOW + timedelta(days=9)))
    done = JobState(name="x-backup-2", succeeded=True, finished_at=NOW)
    observed = steady(NOW, "tenant-zorggroep-noord", "zorggroep-noord", Phase.BACKUP_RUNNING,
                      backup_job=done, backup_check=check)
    actions = decide_finished_job(presigned_exit(), observed, done)
    confirm = a.ConfirmUploadRetention("k/manifest.json", "v7")
    assert actions.index(confirm) < next(
        i for i, x in enumerate(actions) if isinstance(x, a.CreateVerifyJob))
    keyed = make_exit(status={"phase": "BackupRunning",
                              "backup": {"attempts": 2, "job": "x-backup-2"}})
    assert confirm not in decide_finished_job(keyed, observed, done)
    unlocked = steady(NOW, "tenant-zorggroep-noord", "zorggroep-noord", Phase.BACKUP_RUNNING,
                      backup_job=done, backup_check=replace(check, retention=None))
    assert not [x for x in decide_finished_job(presigned_exit(), unlocked,
                                               done) if isinstance(x, a.ConfirmUploadRetention)]


def test_too_many_objects_stalls_the_exit_rather_than_retrying() -> None:
    """No retry makes the URLs fit a Secret: the exit stops, saying what to choose."""
    with pytest.raises(TooManyObjects) as refused:
        window_for(objects=5000, url_length=800, wanted=64)
    failure = classify(a.CopyS3Credentials(attempt=1), "zorggroep-noord", refused.value)
    assert failure.permanent and failure.reason == "BackupStartFailed"
    assert "use uploadCredentials Scoped" in failure.message
