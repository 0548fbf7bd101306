"""AwaitingReceipt, table-driven: only a receipt quoting the manifest digest starts
the grace period; removing it inside the grace period cancels, a wrong digest only
holds the deletion; after notBefore the exit enters Deleting."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus, Phase
from tenant_exit.phases import actions as a
from tenant_exit.phases.awaiting_receipt import REDELIVER
from tenant_exit.phases.machine import PHASES
from tenant_exit.phases.machine import decide as machine_decide
from tenant_exit.phases.observed import Observed
from tenant_exit.phases.status_update import fold
from tests.support.exits import DIGEST, example_spec, make_exit
from tests.support.observed import steady

NOW = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)
EXIT = "zorggroep-noord"
NS = "tenant-zorggroep-noord"
WAITING = Phase.AWAITING_RECEIPT
MANIFEST = "zorggroep-noord/2027-03-02T11-00-00Z/manifest.json"
SECRET = "tenant-exit-system/zorggroep-noord-download"
WRONG = "ab" * 32
CONFIRMED_AT = NOW - timedelta(hours=1)
NOT_BEFORE = CONFIRMED_AT + timedelta(hours=72)
# Identity records a pass may add for an exit admitted before UIDs (issue 10).
RECORDS = (a.RecordTenantIdentity, a.RecordTenantVolumes)
KEEPERS = (a.ApplyGuards, a.EnforceReadOnly, a.SetAppFlag)
# Through the machine's table: importing phases.awaiting_receipt first fails (see
# test_the_phase_module_imports_on_its_own).
decide = PHASES[WAITING]


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def waiting(*, receipt: str | None = None, accepted: bool = False, grace: str = "72h",
            links_expire_at: datetime | None = NOW + timedelta(days=6)) -> TenantExit:
    spec = example_spec()
    spec["deletion"] = {"gracePeriod": grace}
    if receipt is not None:
        spec["receipt"] = {"confirmedBy": "it@zorggroep-noord.example", "manifestSha256": receipt}
    backup: dict[str, Any] = {"job": f"{EXIT}-backup-1", "attempts": 1, "manifest": MANIFEST,
                              "manifestSha256": DIGEST, "downloadSecret": SECRET}
    if links_expire_at is not None:
        backup["linksExpireAt"] = stamp(links_expire_at)
    status: dict[str, Any] = {"phase": WAITING.value, "backup": backup}
    if accepted:
        status["receipt"] = {"confirmedAt": stamp(CONFIRMED_AT),
                             "confirmedBy": "it@zorggroep-noord.example"}
        status["deletion"] = {"notBefore": stamp(NOT_BEFORE)}
    return make_exit(spec=spec, status=status)


def observed(now: datetime = NOW) -> Observed:
    return steady(now, NS, EXIT, WAITING)


def kinds(actions: list[a.Action]) -> list[type]:
    """Action types, leaving out conditions and the guards/read-only kept on every pass."""
    return [type(x) for x in actions
            if not isinstance(x, (a.SetCondition, *KEEPERS, *RECORDS))]


def condition(actions: list[a.Action], type: str) -> a.SetCondition | None:
    found = [x for x in actions if isinstance(x, a.SetCondition) and x.type == type]
    return found[-1] if found else None


# --- no receipt yet ----------------------------------------------------------------


def test_without_a_receipt_the_exit_waits_and_says_what_to_quote() -> None:
    actions = decide(waiting(), observed())
    assert kinds(actions) == []
    ready = condition(actions, c.READY)
    assert ready is not None and ready.status is ConditionStatus.TRUE
    assert ready.reason == c.RECEIPT_PENDING
    assert DIGEST in ready.message and SECRET in ready.message


def test_read_only_stays_enforced_while_waiting() -> None:
    assert a.EnforceReadOnly in [type(x) for x in decide(waiting(), observed())]


LINKS = [
    pytest.param(None, True, id="no-links-yet:deliver"),
    pytest.param(NOW + timedelta(days=6), False, id="6-days-left:keep"),
    pytest.param(NOW + timedelta(days=1, seconds=1), False, id="just-over-a-day-left:keep"),
    pytest.param(NOW + timedelta(days=1), True, id="a-day-left:renew"),
    pytest.param(NOW + timedelta(hours=2), True, id="hours-left:renew"),
    pytest.param(NOW - timedelta(hours=1), True, id="expired:renew"),
]


@pytest.mark.parametrize(("expires", "delivers"), LINKS)
def test_links_are_delivered_when_missing_or_near_expiry(
        expires: datetime | None, delivers: bool) -> None:
    """Links valid 7 days (the default policy) are renewed in their last seventh."""
    actions = decide(waiting(links_expire_at=expires), observed())
    delivered = [x for x in actions if isinstance(x, a.DeliverBackup)]
    assert delivered == ([a.DeliverBackup(MANIFEST, DIGEST)] if delivers else [])


@pytest.mark.parametrize(("annotation", "done", "delivers"), [
    pytest.param(None, None, False, id="no-request"),
    pytest.param("2027-03-03T08:00", None, True, id="first-request"),
    pytest.param("2027-03-03T08:00", "2027-03-03T08:00", False, id="already-done"),
    pytest.param("2027-03-03T09:00", "2027-03-03T08:00", True, id="a-new-request"),
])
def test_the_redeliver_annotation_re_signs_the_links_once_per_value(
        annotation: str | None, done: str | None, delivers: bool) -> None:
    """After rotating the S3 keys the old links are dead: a new annotation value
    re-signs them now, not when they would expire (6 days left here)."""
    exit = waiting()
    body = exit.model_dump(mode="json", by_alias=True)
    if annotation is not None:
        body["metadata"]["annotations"] = {REDELIVER: annotation}
    if done is not None:
        body["status"]["backup"]["redeliveredFor"] = done
    actions = decide(TenantExit.from_body(body), observed())
    assert (a.DeliverBackup(MANIFEST, DIGEST) in actions) is delivers
    assert (a.RecordRedelivery(annotation or "") in actions) is delivers
    if delivers:
        status = fold(exit.status, a.status_actions(actions), generation=1, now=NOW)
        assert status.backup is not None and status.backup.redelivered_for == annotation


# --- a wrong digest -----------------------------------------------------------------


@pytest.mark.parametrize("accepted", [False, True], ids=["never-accepted", "was-accepted"])
def test_a_wrong_digest_is_refused_without_stalling_or_withdrawing(accepted: bool) -> None:
    """A typo in the receipt is not an emergency: ReceiptConfirmed=False with its own
    reason, Ready=False, but no Stalled (nobody is paged) and, for a receipt accepted
    earlier, no ClearReceipt (its notBefore stays)."""
    actions = machine_decide(waiting(receipt=WRONG, accepted=accepted), observed())
    assert kinds(actions) == []
    assert not any(isinstance(x, (a.RecordReceipt, a.ClearReceipt, a.SetPhase)) for x in actions)
    confirmed = condition(actions, c.RECEIPT_CONFIRMED)
    assert confirmed is not None and confirmed.status is ConditionStatus.FALSE
    assert confirmed.reason == c.RECEIPT_DIGEST_MISMATCH
    assert WRONG in confirmed.message and DIGEST in confirmed.message
    assert ("accepted earlier stays on record" in confirmed.message) is accepted
    stalled = condition(actions, c.STALLED)
    assert stalled is not None and stalled.status is ConditionStatus.FALSE
    ready = condition(actions, c.READY)
    assert ready is not None and ready.status is ConditionStatus.FALSE
    assert ready.reason == c.RECEIPT_DIGEST_MISMATCH


def test_a_wrong_digest_after_the_grace_period_holds_the_deletion() -> None:
    exit = waiting(receipt=WRONG, accepted=True)
    actions = decide(exit, observed(NOT_BEFORE + timedelta(1)))
    assert not any(isinstance(x, (a.SetPhase, a.ClearReceipt)) for x in actions)
    status = fold(exit.status, a.status_actions(actions), generation=1, now=NOW)
    assert status.deletion is not None and status.deletion.not_before == NOT_BEFORE
    assert status.receipt is not None and status.receipt.confirmed_at == CONFIRMED_AT


def test_correcting_the_digest_resumes_the_same_grace_period() -> None:
    """Accepted, then a typo, then the right digest again: the original notBefore
    counts (no fresh 72 h), and ReceiptConfirmed flips back to True."""
    typo = waiting(receipt=WRONG, accepted=True)
    status = fold(typo.status, a.status_actions(machine_decide(typo, observed())),
                  generation=1, now=NOW)
    assert not c.is_true(status.conditions, c.RECEIPT_CONFIRMED)
    fixed = make_exit(spec=waiting(receipt=DIGEST).model_dump(mode="json", by_alias=True)["spec"],
                      status=status.model_dump(mode="json", by_alias=True))
    later = NOT_BEFORE + timedelta(minutes=1)
    actions = machine_decide(fixed, observed(later))
    assert not any(isinstance(x, a.RecordReceipt) for x in actions)
    assert [x.phase for x in actions if isinstance(x, a.SetPhase)] == [Phase.DELETING]
    confirmed = condition(actions, c.RECEIPT_CONFIRMED)
    assert confirmed is not None and confirmed.status is ConditionStatus.TRUE


# --- a matching receipt -------------------------------------------------------------

GRACE = [
    pytest.param("72h", timedelta(hours=72), id="72h"),
    pytest.param("1h30m", timedelta(hours=1, minutes=30), id="1h30m"),
    pytest.param("0s", timedelta(0), id="0s"),
    pytest.param("2.5h", timedelta(hours=2, minutes=30), id="2.5h"),
]


@pytest.mark.parametrize(("grace", "period"), GRACE)
def test_a_matching_receipt_starts_the_grace_period(grace: str, period: timedelta) -> None:
    actions = decide(waiting(receipt=DIGEST, grace=grace), observed())
    assert kinds(actions) == [a.RecordReceipt]
    assert a.RecordReceipt(confirmed_at=NOW, confirmed_by="it@zorggroep-noord.example",
                           not_before=NOW + period) in actions
    confirmed = condition(actions, c.RECEIPT_CONFIRMED)
    assert confirmed is not None and confirmed.status is ConditionStatus.TRUE
    assert confirmed.reason == c.RECEIPT_CONFIRMED_REASON
    ready = condition(actions, c.READY)
    assert ready is not None and ready.reason == c.GRACE_PERIOD
    assert (NOW + period).isoformat() in ready.message


@pytest.mark.parametrize(
    ("now", "deletes"),
    [
        pytest.param(NOW, False, id="inside-grace"),
        pytest.param(NOT_BEFORE - timedelta(seconds=1), False, id="a-second-before"),
        pytest.param(NOT_BEFORE, True, id="at-notBefore"),
        pytest.param(NOT_BEFORE + timedelta(days=2), True, id="after-notBefore"),
    ],
)
def test_deleting_starts_only_once_not_before_has_passed(now: datetime, deletes: bool) -> None:
    actions = decide(waiting(receipt=DIGEST, accepted=True), observed(now))
    assert not any(isinstance(x, a.RecordReceipt) for x in actions), "accepted once, not again"
    phases = [x.phase for x in actions if isinstance(x, a.SetPhase)]
    ready = condition(actions, c.READY)
    assert ready is not None
    if deletes:
        assert phases == [Phase.DELETING]
        deleted = condition(actions, c.DELETED)
        assert deleted is not None and deleted.status is ConditionStatus.FALSE
        assert deleted.reason == c.DELETION_IN_PROGRESS
    else:
        assert phases == []
        assert ready.reason == c.GRACE_PERIOD and NOT_BEFORE.isoformat() in ready.message


# --- withdrawal ---------------------------------------------------------------------


def test_withdrawing_an_accepted_receipt_cancels_the_deletion() -> None:
    actions = decide(waiting(accepted=True), observed(NOT_BEFORE - timedelta(minutes=1)))
    assert kinds(actions) == [a.ClearReceipt]
    confirmed = condition(actions, c.RECEIPT_CONFIRMED)
    assert confirmed is not None and confirmed.status is ConditionStatus.FALSE
    assert confirmed.reason == c.RECEIPT_WITHDRAWN
    ready = condition(actions, c.READY)
    assert ready is not None and ready.reason == c.RECEIPT_PENDING


def test_confirm_withdraw_confirm_restarts_the_grace_period() -> None:
    """The story through the machine and the status fold: a second confirmation
    after a withdrawal gets a fresh notBefore, never the old one."""
    exit = waiting(receipt=DIGEST)
    first = machine_decide(exit, observed(NOW))
    status = fold(exit.status, a.status_actions(first), generation=1, now=NOW)
    assert status.deletion is not None and status.deletion.not_before == NOW + timedelta(hours=72)

    later = NOW + timedelta(hours=10)
    withdrawn = make_exit(spec=example_spec(), status=status.model_dump(mode="json", by_alias=True))
    status = fold(withdrawn.status, a.status_actions(machine_decide(withdrawn, observed(later))),
                  generation=1, now=later)
    assert status.receipt is None
    assert status.deletion is None or status.deletion.not_before is None

    again = NOW + timedelta(hours=20)
    spec = example_spec()
    spec["receipt"] = {"confirmedBy": "it@zorggroep-noord.example", "manifestSha256": DIGEST}
    confirmed = make_exit(spec=spec, status=status.model_dump(mode="json", by_alias=True))
    actions = machine_decide(confirmed, observed(again))
    assert a.RecordReceipt(confirmed_at=again, confirmed_by="it@zorggroep-noord.example",
                           not_before=again + timedelta(hours=72)) in actions
    assert not any(isinstance(x, a.SetPhase) for x in actions)


def test_a_mismatch_never_sets_stalled_so_the_alert_stays_quiet() -> None:
    exit = waiting(receipt=WRONG)
    status = fold(exit.status, a.status_actions(machine_decide(exit, observed())),
                  generation=1, now=NOW)
    assert not c.is_true(status.conditions, c.STALLED)
    fixed = waiting(receipt=DIGEST)
    fixed = make_exit(spec=fixed.model_dump(mode="json", by_alias=True)["spec"],
                      status=status.model_dump(mode="json", by_alias=True))
    actions = machine_decide(fixed, observed())
    assert any(isinstance(x, a.RecordReceipt) for x in actions)
    ready = condition(actions, c.READY)
    assert ready is not None and ready.status is ConditionStatus.TRUE


# --- the module itself -----------------------------------------------------------


@pytest.mark.parametrize("module", ["awaiting_receipt", "read_only_licensed"])
def test_the_phase_module_imports_on_its_own(module: str) -> None:
    """A fresh interpreter, so no earlier import of the machine hides an import cycle."""
    result = subprocess.run(
        [sys.executable, "-c", f"import tenant_exit.phases.{module}"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr.strip().splitlines()[-1]


# --- Object Lock: the retention must outlive the grace period -------------------------


def locked(until: datetime, **fields: Any) -> TenantExit:
    exit = waiting(**fields)
    status = exit.status.model_dump(mode="json", by_alias=True)
    status["backup"]["retention"] = {"mode": "COMPLIANCE", "retainUntil": stamp(until)}
    return make_exit(spec=exit.spec.model_dump(mode="json", by_alias=True), status=status)


@pytest.mark.parametrize(("until", "extends"), [
    pytest.param(NOW + timedelta(days=2), True, id="upload-retention-ends-inside-grace"),
    pytest.param(NOW + timedelta(days=30), False, id="already-long-enough"),
])
def test_accepting_a_receipt_first_lengthens_a_short_retention(until: datetime,
                                                               extends: bool) -> None:
    actions = decide(locked(until, receipt=DIGEST), observed())
    margin = observed().backup_policy.retention_margin
    wanted = a.ExtendRetention(NOW + timedelta(hours=72) + margin)
    assert (wanted in actions) is extends
    if extends:  # executed before the receipt is folded: a failure leaves it unaccepted
        assert kinds(actions)[:2] == [a.ExtendRetention, a.RecordReceipt]


def test_without_object_lock_or_once_accepted_nothing_is_lengthened() -> None:
    assert a.ExtendRetention not in kinds(decide(waiting(receipt=DIGEST), observed()))
    accepted = locked(NOW, receipt=DIGEST, accepted=True)
    assert a.ExtendRetention not in kinds(decide(accepted, observed()))
