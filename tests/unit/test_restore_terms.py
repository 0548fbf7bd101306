"""The restore verification level as a backed-up term (issue 13), the pure parts:
recorded with the other terms when the backup begins, every attempt run under the
recorded level, an edit reported, and the step into Deleting decided on the
recorded level, never on the live spec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenant_exit.api import conditions as c
from tenant_exit.api.policy import ExitPolicy
from tenant_exit.api.restore import RestoreMode
from tenant_exit.api.status import ConditionStatus, Phase
from tenant_exit.api.terms import changed_terms, restore_level, terms_from_spec
from tenant_exit.phases import actions as a
from tenant_exit.phases.machine import PHASES
from tenant_exit.phases.observed import BackupPolicy, FreezeSeen
from tenant_exit.phases.restore_gate import restore_proven
from tenant_exit.phases.status_update import fold
from tests.support.exits import DIGEST, example_spec, make_exit
from tests.support.observed import steady

NOW = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)
EXIT = "zorggroep-noord"
NS = "tenant-zorggroep-noord"
REQUIRED, BEST_EFFORT, OFF = RestoreMode.REQUIRED, RestoreMode.BEST_EFFORT, RestoreMode.OFF


def spec_with(level: RestoreMode | None, **extra: Any) -> dict[str, Any]:
    spec = example_spec()
    if level is not None:
        spec["verification"] = {"restore": level.value}
        if level is OFF:
            spec["verification"]["offReason"] = "test tenant without client data"
    spec.update(extra)
    return spec


def recorded(level: RestoreMode | None) -> dict[str, Any]:
    terms = terms_from_spec(make_exit(), REQUIRED).model_dump(mode="json", by_alias=True)
    if level is None:
        terms.pop("restoreVerification")
    else:
        terms["restoreVerification"] = level.value
    return terms


@pytest.mark.parametrize(("asked", "default", "kept"), [
    (None, REQUIRED, REQUIRED),
    (None, BEST_EFFORT, BEST_EFFORT),
    (BEST_EFFORT, REQUIRED, BEST_EFFORT),
    (REQUIRED, OFF, REQUIRED),
    (OFF, REQUIRED, OFF),
])
def test_the_level_in_force_is_recorded_with_the_terms(
        asked: RestoreMode | None, default: RestoreMode, kept: RestoreMode) -> None:
    assert terms_from_spec(make_exit(spec=spec_with(asked)), default).restore_verification \
        is kept


def test_a_class_default_is_the_level_in_force_when_the_spec_names_none() -> None:
    exit = make_exit(spec=spec_with(None))
    under_class = exit.under(ExitPolicy(class_name="strict", restore_verification="BestEffort"))
    assert terms_from_spec(under_class, REQUIRED).restore_verification is BEST_EFFORT


def test_the_first_backup_job_records_the_platform_default() -> None:
    spec = spec_with(None)
    spec.pop("readOnly")
    exit = make_exit(spec=spec, status={"phase": "BackupRunning"})
    seen = steady(NOW, NS, EXIT, Phase.BACKUP_RUNNING, freeze=FreezeSeen(),
                  backup_policy=BackupPolicy(restore_default=BEST_EFFORT))
    actions = PHASES[Phase.BACKUP_RUNNING](exit, seen)
    (record,) = [x for x in actions if isinstance(x, a.RecordTerms)]
    assert record.terms.restore_verification is BEST_EFFORT
    assert any(isinstance(x, a.CreateBackupJob) for x in actions)
    status = fold(exit.status, a.status_actions(actions), generation=1, now=NOW)
    assert status.terms is not None and status.terms.restore_verification is BEST_EFFORT


@pytest.mark.parametrize(("terms", "asked", "default", "level"), [
    pytest.param(None, BEST_EFFORT, REQUIRED, BEST_EFFORT, id="before-the-record-the-spec"),
    pytest.param(None, None, OFF, OFF, id="before-the-record-the-default"),
    pytest.param(REQUIRED, BEST_EFFORT, OFF, REQUIRED, id="recorded-beats-a-loosened-spec"),
    pytest.param(BEST_EFFORT, None, REQUIRED, BEST_EFFORT, id="recorded-beats-a-new-default"),
    pytest.param("legacy", OFF, REQUIRED, OFF, id="no-level-in-older-terms"),
])
def test_every_attempt_runs_under_the_recorded_level(
        terms: RestoreMode | str | None, asked: RestoreMode | None, default: RestoreMode,
        level: RestoreMode) -> None:
    status: dict[str, Any] = {"phase": "BackupRunning"}
    if terms is not None:
        status["terms"] = recorded(terms if isinstance(terms, RestoreMode) else None)
    assert restore_level(make_exit(spec=spec_with(asked), status=status), default) is level


def test_a_level_named_in_the_spec_that_differs_is_reported() -> None:
    at = {"phase": "AwaitingReceipt", "terms": recorded(REQUIRED)}
    assert changed_terms(make_exit(spec=spec_with(BEST_EFFORT), status=at)) \
        == ["spec.verification.restore"]
    assert changed_terms(make_exit(spec=spec_with(REQUIRED), status=at)) == []
    # Naming none is the platform's default, which applies to exits not yet begun.
    assert changed_terms(make_exit(spec=spec_with(None), status=at)) == []
    older = {"phase": "AwaitingReceipt", "terms": recorded(None)}
    assert changed_terms(make_exit(spec=spec_with(BEST_EFFORT), status=older)) == []


T, U, F = ConditionStatus.TRUE, ConditionStatus.UNKNOWN, ConditionStatus.FALSE


@pytest.mark.parametrize(("level", "verified", "proven"), [
    (REQUIRED, T, True), (REQUIRED, U, False), (REQUIRED, F, False), (REQUIRED, None, False),
    (BEST_EFFORT, T, True), (BEST_EFFORT, U, True), (BEST_EFFORT, F, False),
    (BEST_EFFORT, None, False),
    (OFF, T, True), (OFF, U, True), (OFF, F, True), (OFF, None, True),
    (None, T, True), (None, U, True), (None, None, True), (None, F, False),
])
def test_what_each_recorded_level_asks_of_restore_verified(
        level: RestoreMode | None, verified: ConditionStatus | None, proven: bool) -> None:
    assert restore_proven(level, verified) is proven


CONFIRMED_AT = NOW - timedelta(days=4)


def after_grace(terms: RestoreMode | None, live: RestoreMode | None,
                verified: tuple[ConditionStatus, str] | None) -> list[a.Action]:
    """An exit whose receipt was accepted and whose grace period has passed."""
    spec = spec_with(live, receipt={"confirmedBy": "it@zorggroep-noord.example",
                                    "manifestSha256": DIGEST})
    stamp = CONFIRMED_AT.strftime("%Y-%m-%dT%H:%M:%SZ")
    conditions = [] if verified is None else [{
        "type": c.RESTORE_VERIFIED, "status": verified[0].value, "reason": verified[1],
        "message": "from the manifest", "lastTransitionTime": stamp}]
    exit = make_exit(spec=spec, status={
        "phase": "AwaitingReceipt", "terms": recorded(terms), "conditions": conditions,
        "backup": {"job": f"{EXIT}-backup-1", "attempts": 1, "manifest": "m/manifest.json",
                   "manifestSha256": DIGEST, "downloadSecret": "x",
                   "linksExpireAt": (NOW + timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%SZ")},
        "receipt": {"confirmedAt": stamp, "confirmedBy": "it@zorggroep-noord.example"},
        "deletion": {"notBefore": (CONFIRMED_AT + timedelta(hours=72)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")}})
    return PHASES[Phase.AWAITING_RECEIPT](exit, steady(NOW, NS, EXIT, Phase.AWAITING_RECEIPT))


def phases(actions: list[a.Action]) -> list[Phase]:
    return [x.phase for x in actions if isinstance(x, a.SetPhase)]


def test_recorded_required_holds_an_unproven_backup_whatever_the_spec_says() -> None:
    actions = after_grace(REQUIRED, BEST_EFFORT, (U, c.RESTORE_TOO_LARGE))
    assert phases(actions) == []
    (stalled,) = [x for x in actions if isinstance(x, a.SetCondition) and x.type == c.STALLED]
    assert stalled.status is T and stalled.reason == c.RESTORE_NOT_PROVEN
    assert "Required (status.terms.restoreVerification)" in stalled.message
    assert "RestoreVerified is Unknown (TooLarge)" in stalled.message
    assert not any(isinstance(x, a.SetCondition) and x.type == c.DELETED for x in actions)


def test_recorded_best_effort_goes_on_with_unknown_whatever_the_spec_says() -> None:
    assert phases(after_grace(BEST_EFFORT, REQUIRED, (U, c.RESTORE_TOO_LARGE))) \
        == [Phase.DELETING]


@pytest.mark.parametrize(("terms", "verified", "deletes"), [
    pytest.param(REQUIRED, (T, c.RESTORE_MATCHES), True, id="required-proven"),
    pytest.param(REQUIRED, None, False, id="required-no-condition"),
    pytest.param(BEST_EFFORT, (F, c.RESTORE_MISMATCH), False, id="best-effort-failed"),
    pytest.param(OFF, (U, c.RESTORE_OFF), True, id="off"),
    pytest.param(None, None, True, id="older-terms-no-condition"),
    pytest.param(None, (F, c.RESTORE_MISMATCH), False, id="older-terms-failed"),
])
def test_the_step_into_deleting_follows_the_recorded_level(
        terms: RestoreMode | None, verified: tuple[ConditionStatus, str] | None,
        deletes: bool) -> None:
    actions = after_grace(terms, None, verified)
    assert phases(actions) == ([Phase.DELETING] if deletes else [])
