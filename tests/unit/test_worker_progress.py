"""JSON-lines progress log and the redactor."""

from __future__ import annotations

import io
import json

from tenant_exit.worker.progress import ProgressLog, Redactor


def test_redactor_masks_every_secret() -> None:
    redact = Redactor(["hunter2-long", None, "", "abc"])
    assert redact("pw=hunter2-long and again hunter2-long") == "pw=*** and again ***"
    assert redact("abc stays: too short to be a secret") == "abc stays: too short to be a secret"


def test_events_are_json_lines_and_redacted() -> None:
    out = io.StringIO()
    log = ProgressLog(out, interval=60, redact=Redactor(["topsecret"]))
    log.event("failed", error="login with topsecret refused")
    [line] = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["event"] == "failed" and record["error"] == "login with *** refused"
    assert "time" in record


def test_progress_is_rate_limited_per_object() -> None:
    out = io.StringIO()
    log = ProgressLog(out, interval=3600)
    for n in range(100):
        log.progress("database-ons", plaintextBytes=n)
    log.progress("documents-x", plaintextBytes=1)
    log.progress("database-ons", force=True, plaintextBytes=100)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["object"], r["plaintextBytes"]) for r in records] == [
        ("database-ons", 0), ("documents-x", 1), ("database-ons", 100)]
