"""The phase machine's decisions, table-driven: (exit, observed) -> actions."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenant_exit.api import conditions as c
from tenant_exit.api.spec import DatabaseReadOnlyMode
from tenant_exit.api.status import ConditionStatus, Phase
from tenant_exit.phases import actions as a
from tenant_exit.phases.machine import decide, decide_cancel
from tenant_exit.phases.observed import FreezeSeen, JobState, NamespaceState, Observed
from tenant_exit.phases.status_update import fold
from tests.support.exits import example_spec, make_exit
from tests.support.observed import OPERATOR_NAMESPACE, no_namespace, observation
from tests.support.observed import guarded as guarded_namespace

NOW = datetime(2027, 1, 1, tzinfo=UTC)
NS = "tenant-zorggroep-noord"
EXIT = "zorggroep-noord"
NS_UID = "ns-uid-1"


def guarded(phase: Phase, **changes: Any) -> NamespaceState:
    return dataclasses.replace(guarded_namespace(NS, EXIT, phase), uid=NS_UID, **changes)


def seen(namespace: NamespaceState | None = None, **changes: Any) -> Observed:
    values: dict[str, Any] = {"app_flag_value": None,
                              "credential_namespaces": (OPERATOR_NAMESPACE,), **changes}
    return observation(values.pop("now", NOW),
                       namespace if namespace is not None
                       else NamespaceState(name=NS, uid=NS_UID), **values)


NO_NAMESPACE = no_namespace(NOW)


def spec_with(**changes: Any) -> dict[str, Any]:
    spec = example_spec()
    for key, value in changes.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    return spec


def in_phase(phase: Phase, spec: dict[str, Any] | None = None, **status: Any) -> Any:
    return make_exit(spec=spec, status={"phase": phase.value,
                                        "tenant": {"namespaceUid": NS_UID}, **status})


# Identity and terms records (issue 10), asserted in their own tests below.
RECORDS = (a.RecordTenantIdentity, a.RecordTenantVolumes, a.RecordTerms)


def kinds(actions: list[a.Action]) -> list[type]:
    return [type(x) for x in actions if not isinstance(x, (a.SetCondition, *RECORDS))]


def condition(actions: list[a.Action], type: str) -> a.SetCondition | None:
    found = [x for x in actions if isinstance(x, a.SetCondition) and x.type == type]
    return found[-1] if found else None


# --- a new exit ---------------------------------------------------------------

ADMISSION_REFUSALS = [
    pytest.param(
        make_exit(spec=example_spec("tenant-exit-system")),
        seen(NamespaceState(name="tenant-exit-system")),
        c.PROTECTED_NAMESPACE,
        id="operator-namespace",
    ),
    pytest.param(make_exit(), NO_NAMESPACE, c.NAMESPACE_NOT_FOUND, id="missing-namespace"),
    pytest.param(
        make_exit(),
        seen(NamespaceState(name=NS, guarded_by="other-exit")),
        c.NAMESPACE_CLAIMED,
        id="namespace-held-by-other-exit",
    ),
    pytest.param(make_exit(), seen(rivals=("older-exit",)), c.NAMESPACE_CLAIMED, id="older-rival"),
    pytest.param(
        make_exit(), seen(NamespaceState(name=NS, terminating=True)), c.NAMESPACE_NOT_FOUND,
        id="terminating",
    ),
]


@pytest.mark.parametrize(("exit", "observed", "reason"), ADMISSION_REFUSALS)
def test_a_refused_exit_changes_nothing_and_says_why(exit, observed, reason) -> None:
    actions = decide(exit, observed)
    assert a.side_effects(actions) == []
    assert not any(isinstance(x, a.SetPhase) for x in actions)
    ready = condition(actions, c.READY)
    assert ready is not None and ready.status is ConditionStatus.FALSE
    assert ready.reason == reason and exit.spec.tenant_namespace in ready.message


def test_a_namespace_not_found_is_waited_for_not_stalled() -> None:
    stalled = condition(decide(make_exit(), NO_NAMESPACE), c.STALLED)
    assert stalled is not None and stalled.status is ConditionStatus.FALSE


def test_a_new_exit_with_read_only_guards_then_enforces_then_enters_the_licence() -> None:
    actions = decide(make_exit(), seen())
    assert kinds(actions) == [
        a.ApplyGuards,
        a.EnforceReadOnly,
        a.SetAppFlag,
        a.SetPhase,
        a.RecordReadOnly,
    ]
    assert a.ApplyGuards(phase=Phase.READ_ONLY_LICENSED, namespace_uid=NS_UID) in actions
    assert actions[0] == a.RecordTenantIdentity(NS_UID)
    enforced = condition(actions, c.READ_ONLY_ENFORCED)
    assert enforced is not None and enforced.status is ConditionStatus.TRUE
    assert enforced.reason == c.WRITES_REVOKED


def test_a_new_exit_without_read_only_freezes_writes_and_goes_to_backup() -> None:
    """Issue 10: RevokeWrites even without readOnly; the Job waits for the freeze to
    be read back in force (the next pass), never in the pass that enforces it."""
    actions = decide(make_exit(spec=spec_with(readOnly=None)), seen())
    assert kinds(actions) == [a.ApplyGuards, a.EnforceReadOnly, a.RecordReadOnly, a.SetPhase]
    assert a.EnforceReadOnly(mode=DatabaseReadOnlyMode.REVOKE_WRITES) in actions
    assert any(isinstance(x, a.RecordReadOnly) and x.until is None for x in actions)
    enforced = condition(actions, c.READ_ONLY_ENFORCED)
    assert enforced is not None and enforced.reason == c.WRITES_REVOKED
    phase = next(x for x in actions if isinstance(x, a.SetPhase))
    assert phase.phase is Phase.BACKUP_RUNNING
    assert a.ApplyGuards(phase=Phase.BACKUP_RUNNING, namespace_uid=NS_UID) in actions
    ready = condition(actions, c.READY)
    assert ready is not None and ready.reason == c.WRITES_NOT_FROZEN


@pytest.mark.parametrize(
    ("mode", "expected", "reason"),
    [
        (DatabaseReadOnlyMode.REVOKE_WRITES, [a.EnforceReadOnly], c.WRITES_REVOKED),
        (DatabaseReadOnlyMode.SERVER_READ_ONLY, [a.EnforceReadOnly], c.SERVER_READ_ONLY),
        (DatabaseReadOnlyMode.NONE, [], c.APP_FLAG_ONLY),
    ],
)
def test_read_only_modes(mode, expected, reason) -> None:
    spec = example_spec()
    spec["readOnly"]["database"] = mode.value
    spec["readOnly"].pop("appFlag")
    actions = decide(make_exit(spec=spec), seen())
    assert [t for t in kinds(actions) if t is a.EnforceReadOnly] == expected
    enforced = condition(actions, c.READ_ONLY_ENFORCED)
    assert enforced is not None and enforced.reason == reason


# --- ReadOnlyLicensed -----------------------------------------------------------

LICENCE = Phase.READ_ONLY_LICENSED
FLAG_SET = {"app_flag_value": "true"}
FROZEN = {**FLAG_SET, "freeze": FreezeSeen()}

LICENCE_CASES = [
    pytest.param(
        seen(guarded(LICENCE), **FLAG_SET), [a.EnforceReadOnly], id="until-ahead:only-re-enforce"
    ),
    pytest.param(
        seen(guarded(LICENCE, unretained_volumes=("pv-new",)), **FLAG_SET),
        [a.ApplyGuards, a.EnforceReadOnly],
        id="new-pv:guards-again",
    ),
    pytest.param(
        seen(guarded(LICENCE, deletion_label=None), **FLAG_SET),
        [a.ApplyGuards, a.EnforceReadOnly],
        id="label-lost:guards-again",
    ),
    pytest.param(
        seen(guarded(LICENCE), app_flag_value="false"),
        [a.EnforceReadOnly, a.SetAppFlag],
        id="flag-reset-by-hand:set-again",
    ),
    pytest.param(
        seen(guarded(LICENCE), now=datetime(2027, 3, 1, tzinfo=UTC), **FROZEN),
        [
            a.ApplyGuards,
            a.EnforceReadOnly,
            a.SetPhase,
            a.CopyS3Credentials,
            a.CreateBackupJob,
            a.RecordBackupJob,
        ],
        id="until-passed:backup-starts",
    ),
]


@pytest.mark.parametrize(("observed", "expected"), LICENCE_CASES)
def test_read_only_licensed(observed, expected) -> None:
    assert kinds(decide(in_phase(LICENCE), observed)) == expected


def test_the_licence_says_when_the_backup_starts() -> None:
    ready = condition(decide(in_phase(LICENCE), seen(guarded(LICENCE), **FLAG_SET)), c.READY)
    assert ready is not None and ready.reason == c.LICENCE_RUNNING
    assert "2027-03-01" in ready.message


def test_without_until_the_backup_starts_after_read_only() -> None:
    spec = example_spec()
    spec["readOnly"].pop("until")
    actions = decide(in_phase(LICENCE, spec), seen(guarded(LICENCE), **FROZEN))
    assert a.CreateBackupJob(attempt=1) in actions
    assert a.ApplyGuards(phase=Phase.BACKUP_RUNNING, namespace_uid=NS_UID) in actions


# --- BackupRunning ------------------------------------------------------------------

BACKUP = Phase.BACKUP_RUNNING
JOB = JobState(name=f"{EXIT}-backup-1", created_at=NOW - timedelta(minutes=5), active=1)
RECORDED = {"backup": {"job": JOB.name, "attempts": 1}}


def test_backup_running_without_a_job_creates_the_job_of_the_current_attempt() -> None:
    exit = in_phase(BACKUP, backup={"attempts": 3})
    actions = decide(exit, seen(guarded(BACKUP), **FROZEN))
    assert a.CreateBackupJob(attempt=3) in actions
    assert kinds(actions)[-3:] == [a.CopyS3Credentials, a.CreateBackupJob, a.RecordBackupJob]


@pytest.mark.parametrize(("freeze", "says"), [
    (None, "Waiting to read back the write freeze (RevokeWrites) in force"),
    (FreezeSeen(problems=("app@% still holds INSERT on `ons`.*",)),
     "is not in force, so the backup waits: app@% still holds INSERT on `ons`.*"),
], ids=["not-read-back", "grant-left"])
def test_no_job_before_the_freeze_is_read_back_in_force(freeze: FreezeSeen | None,
                                                        says: str) -> None:
    actions = decide(in_phase(BACKUP), seen(guarded(BACKUP), **FLAG_SET, freeze=freeze))
    assert a.CreateBackupJob not in kinds(actions)
    assert a.EnforceReadOnly in kinds(actions)  # enforced again, so the wait heals
    ready = condition(actions, c.READY)
    assert ready is not None and ready.reason == c.WRITES_NOT_FROZEN and says in ready.message


def test_an_acknowledged_unfrozen_database_needs_no_freeze() -> None:
    spec = example_spec()
    spec["readOnly"].update(database="None", writesNotFrozenAcknowledgement=(
        "No application writes since 2027-02-01; accepted by J. Jansen, ZD-48213"))
    actions = decide(in_phase(BACKUP, spec), seen(guarded(BACKUP), **FLAG_SET))
    assert a.CreateBackupJob(attempt=1) in actions
    assert a.EnforceReadOnly not in kinds(actions)


def test_an_unacknowledged_unfrozen_database_is_refused() -> None:
    """A cluster whose CRD lacks the CEL rule (or an old object): the operator refuses too."""
    spec = example_spec()
    spec["readOnly"]["database"] = "None"
    actions = decide(in_phase(BACKUP, spec), seen(guarded(BACKUP), **FROZEN))
    assert a.CreateBackupJob not in kinds(actions)
    stalled = condition(actions, c.STALLED)
    assert stalled is not None and stalled.reason == c.FREEZE_NOT_ACKNOWLEDGED
    assert "writesNotFrozenAcknowledgement" in stalled.message


def test_an_existing_job_is_adopted_never_duplicated() -> None:
    """Killed after creating the Job but before patching status: the next pass adopts it."""
    actions = decide(in_phase(BACKUP), seen(guarded(BACKUP), backup_job=JOB, **FLAG_SET))
    assert a.CreateBackupJob not in kinds(actions)
    assert a.RecordBackupJob(job=JOB.name, attempt=1, started_at=JOB.created_at) in actions


def test_a_recorded_running_job_needs_nothing_but_read_only() -> None:
    exit = in_phase(BACKUP, **RECORDED)
    actions = decide(exit, seen(guarded(BACKUP), backup_job=JOB, **FLAG_SET))
    assert kinds(actions) == [a.EnforceReadOnly]


@pytest.mark.parametrize(("left", "renewed"), [
    (timedelta(minutes=50), False), (timedelta(minutes=21), False),
    (timedelta(minutes=19), True), (timedelta(minutes=-5), True)],
    ids=["fresh", "just-over-a-third", "under-a-third", "expired"])
def test_a_running_jobs_upload_session_is_renewed_when_a_third_is_left(
        left: timedelta, renewed: bool) -> None:
    """A dump longer than the session: the operator replaces the Secret in time."""
    exit = in_phase(BACKUP, **RECORDED)
    observed = seen(guarded(BACKUP), backup_job=JOB, upload_session_ends=NOW + left,
                    upload_session_length=timedelta(hours=1), **FLAG_SET)
    actions = decide(exit, observed)
    assert (a.CopyS3Credentials(attempt=1) in actions) is renewed
    assert a.CreateBackupJob not in kinds(actions)


def test_no_renewal_without_a_session() -> None:
    """Platform keys (no expiration) or a finished Job: nothing to renew."""
    exit = in_phase(BACKUP, **RECORDED)
    actions = decide(exit, seen(guarded(BACKUP), backup_job=JOB, upload_session_ends=None,
                                **FLAG_SET))
    assert a.CopyS3Credentials not in kinds(actions)


@pytest.mark.parametrize(
    ("spec", "observed", "reason"),
    [
        (spec_with(destination=None), seen(guarded(BACKUP), **FLAG_SET), c.DESTINATION_MISSING),
        (
            None,
            seen(guarded(BACKUP), credential_namespaces=("elsewhere",), **FLAG_SET),
            c.CREDENTIALS_NOT_ALLOWED,
        ),
    ],
)
def test_a_backup_that_cannot_start_stalls_until_the_spec_changes(spec, observed, reason) -> None:
    actions = decide(in_phase(BACKUP, spec), observed)
    assert a.CreateBackupJob not in kinds(actions)
    assert a.CopyS3Credentials not in kinds(actions)
    stalled = condition(actions, c.STALLED)
    assert stalled is not None and stalled.status is ConditionStatus.TRUE
    assert stalled.reason == reason


def test_a_stall_is_cleared_once_the_cause_is_gone() -> None:
    exit = in_phase(
        BACKUP,
        conditions=[
            {
                "type": c.STALLED,
                "status": "True",
                "reason": c.DESTINATION_MISSING,
                "message": "x",
                "lastTransitionTime": "2026-12-01T00:00:00Z",
            }
        ],
    )
    stalled = condition(decide(exit, seen(guarded(BACKUP), **FLAG_SET)), c.STALLED)
    assert stalled is not None and stalled.status is ConditionStatus.FALSE


# --- cancel -----------------------------------------------------------------------

CANCEL_CASES = [
    pytest.param(
        in_phase(LICENCE),
        seen(guarded(LICENCE)),
        [a.RevertReadOnly, a.ResetAppFlag, a.RemoveS3Credentials, a.RemoveDownloadLinks,
         a.RemoveGuards],
        id="licensed:revert-everything",
    ),
    pytest.param(
        in_phase(BACKUP),
        seen(guarded(BACKUP)),
        [a.RevertReadOnly, a.ResetAppFlag, a.RemoveS3Credentials, a.RemoveDownloadLinks,
         a.RemoveGuards],
        id="backup-running:revert-everything",
    ),
    pytest.param(
        in_phase(Phase.AWAITING_RECEIPT),
        seen(guarded(Phase.AWAITING_RECEIPT)),
        [a.RevertReadOnly, a.ResetAppFlag, a.RemoveS3Credentials, a.RemoveDownloadLinks,
         a.RemoveGuards],
        id="awaiting-receipt:revert-and-withdraw-the-links",
    ),
    pytest.param(
        in_phase(Phase.AWAITING_RECEIPT),
        NO_NAMESPACE,
        [a.RevertReadOnly, a.RemoveDownloadLinks],
        id="awaiting-receipt-namespace-gone:still-withdraw-the-links",
    ),
    pytest.param(
        make_exit(),
        seen(NamespaceState(name=NS, guarded_by="the-real-exit")),
        [],
        id="refused-duplicate:touch-nothing",
    ),
    pytest.param(
        in_phase(Phase.DELETING), seen(guarded(Phase.DELETING)), [a.HoldDeletion], id="deleting"
    ),
    pytest.param(in_phase(Phase.DELETED), NO_NAMESPACE, [], id="deleted:release"),
]


@pytest.mark.parametrize(("exit", "observed", "expected"), CANCEL_CASES)
def test_cancel(exit, observed, expected) -> None:
    assert kinds(decide_cancel(exit, observed)) == expected


# --- status folding ---------------------------------------------------------------


def test_entering_the_licence_folds_into_a_status_kubectl_wait_can_use() -> None:
    exit = make_exit(generation=4)
    actions = decide(exit, seen())
    status = fold(exit.status, a.status_actions(actions), generation=4, now=NOW)
    assert status.phase is Phase.READ_ONLY_LICENSED
    assert status.observed_generation == 4
    assert {x.type for x in status.conditions} == set(c.ALL_TYPES)
    assert all(x.observed_generation == 4 for x in status.conditions)
    assert status.read_only is not None and status.read_only.enforced_at == NOW


def test_recording_a_job_keeps_the_highest_attempt() -> None:
    exit = in_phase(BACKUP, backup={"attempts": 2, "job": f"{EXIT}-backup-2"})
    record = a.RecordBackupJob(job=f"{EXIT}-backup-2", attempt=2, started_at=NOW)
    status = fold(exit.status, [record], generation=1, now=NOW)
    assert status.backup is not None
    assert (status.backup.job, status.backup.attempts) == (f"{EXIT}-backup-2", 2)
