"""Deleting, table-driven: record the targets, drop schemas if asked, open the guard,
release the volumes, delete the namespace, wait for all of it to be gone, then the
certificate and Deleted. Each pass re-issues what is not observed done yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus, Phase
from tenant_exit.phases import actions as a
from tenant_exit.phases.deleting import decide
from tenant_exit.phases.observed import DestructionSeen, NamespaceState, Observed, VolumeSeen
from tenant_exit.phases.status_update import fold
from tests.support.exits import DIGEST, example_spec, make_exit
from tests.support.observed import no_namespace, observation

NOW = datetime(2027, 3, 6, 9, 0, tzinfo=UTC)
STARTED = NOW - timedelta(minutes=2)
NS = "tenant-zorggroep-noord"
UID = "0b9c6f2e-namespace-uid"
PV_DOCS = "pvc-1111-docs"
PV_DB = "pvc-2222-db"
VOLUMES = (
    VolumeSeen(PV_DOCS, f"{NS}/client-documents", "10Gi"),
    VolumeSeen(PV_DB, f"{NS}/data-mysql-0", "20Gi"),
)
RECORDED_VOLUMES = [
    {"persistentVolume": PV_DOCS, "claim": f"{NS}/client-documents", "capacity": "10Gi"},
    {"persistentVolume": PV_DB, "claim": f"{NS}/data-mysql-0", "capacity": "20Gi"},
]


def deleting(*, started: bool = True, dropped: list[str] | None = None,
             drop_databases: bool = False) -> TenantExit:
    spec = example_spec()
    spec["database"]["databases"] = ["ons", "ons_reports"]
    spec["deletion"] = {"gracePeriod": "72h", "dropDatabases": drop_databases}
    deletion: dict[str, Any] = {"notBefore": "2027-03-06T08:00:00Z"}
    if started:
        deletion.update(startedAt=STARTED.strftime("%Y-%m-%dT%H:%M:%SZ"), namespaceUid=UID,
                        volumes=RECORDED_VOLUMES)
    if dropped is not None:
        deletion["databasesDropped"] = dropped
    return make_exit(spec=spec, status={
        "phase": Phase.DELETING.value,
        "backup": {"manifest": "zorggroep-noord/m/manifest.json", "manifestSha256": DIGEST},
        "receipt": {"confirmedAt": "2027-03-03T08:00:00Z", "confirmedBy": "it@example.org"},
        "deletion": deletion,
    })


def seen(*, exists: bool = True, contents: bool = True,
         present: frozenset[str] = frozenset({PV_DOCS, PV_DB})) -> Observed:
    return observation(
        NOW, NamespaceState(name=NS, terminating=exists and not contents) if exists else None,
        destruction=DestructionSeen(
            namespace_exists=exists, namespace_uid=UID if exists else None,
            contents_remaining=exists and contents,
            bound_volumes=VOLUMES if exists and contents else (),
            present_volumes=present,
        ),
    )


def kinds(actions: list[a.Action]) -> list[type]:
    return [type(x) for x in actions if not isinstance(x, a.SetCondition)]


def condition(actions: list[a.Action], type: str) -> a.SetCondition | None:
    found = [x for x in actions if isinstance(x, a.SetCondition) and x.type == type]
    return found[-1] if found else None


def test_without_an_observation_nothing_is_decided() -> None:
    observed = no_namespace(NOW)
    assert decide(deleting(started=False), observed) == []


def test_the_first_pass_records_what_will_be_destroyed_and_nothing_else() -> None:
    actions = decide(deleting(started=False), seen())
    assert kinds(actions) == [a.RecordDeletionTargets]
    assert actions[0] == a.RecordDeletionTargets(
        started_at=NOW, namespace_uid=UID,
        volumes=((PV_DOCS, f"{NS}/client-documents", "10Gi"),
                 (PV_DB, f"{NS}/data-mysql-0", "20Gi")),
    )
    ready = condition(actions, c.READY)
    assert ready is not None and ready.reason == c.DELETION_IN_PROGRESS
    assert "2 volume(s)" in ready.message


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        pytest.param(True, a.DropDatabases(("ons", "ons_reports")), id="dropDatabases"),
        pytest.param(False, a.RecordDroppedDatabases(()), id="not-configured"),
    ],
)
def test_schemas_are_dropped_only_when_configured(drop: bool, expected: a.Action) -> None:
    actions = decide(deleting(drop_databases=drop), seen())
    assert [x for x in actions if not isinstance(x, a.SetCondition)] == [expected]
    assert a.DeleteNamespace not in kinds(actions), "schemas first: their Secret is in the ns"


NAMESPACE_CASES = [
    pytest.param(
        seen(),
        [a.AllowNamespaceDeletion, a.ReleaseVolumes, a.DeleteNamespace],
        id="contents-and-volumes:delete-and-wait",
    ),
    pytest.param(
        seen(contents=False),
        [a.AllowNamespaceDeletion, a.ReleaseVolumes, a.DeleteNamespace],
        id="empty-but-volumes-present:wait",
    ),
    pytest.param(
        seen(present=frozenset()),
        [a.AllowNamespaceDeletion, a.ReleaseVolumes, a.DeleteNamespace],
        id="volumes-gone-but-contents:wait",
    ),
    pytest.param(
        seen(contents=False, present=frozenset({"pvc-of-another-tenant"})),
        [a.AllowNamespaceDeletion, a.ReleaseVolumes, a.DeleteNamespace, a.ReleaseNamespace],
        id="empty-and-volumes-gone:release",
    ),
]


@pytest.mark.parametrize(("observed", "expected"), NAMESPACE_CASES)
def test_while_the_namespace_exists_the_deletion_is_reissued_in_order(
        observed: Observed, expected: list[type]) -> None:
    actions = decide(deleting(dropped=[]), observed)
    assert kinds(actions) == expected
    assert a.ReleaseVolumes((PV_DOCS, PV_DB)) in actions
    assert a.WriteCertificate not in kinds(actions)
    assert not any(isinstance(x, a.SetPhase) for x in actions)


def test_the_wait_names_what_it_waits_for() -> None:
    ready = condition(decide(deleting(dropped=[]), seen(present=frozenset({PV_DB}))), c.READY)
    assert ready is not None and ready.reason == c.DELETION_IN_PROGRESS
    assert f"empty {NS}" in ready.message and f"volumes {PV_DB} to be deleted" in ready.message


def test_namespace_gone_but_volumes_remaining_waits_for_them() -> None:
    actions = decide(deleting(dropped=[]), seen(exists=False, present=frozenset({PV_DB})))
    assert kinds(actions) == [a.ReleaseVolumes]
    assert a.ReleaseVolumes((PV_DB,)) in actions
    ready = condition(actions, c.READY)
    assert ready is not None and PV_DB in ready.message and PV_DOCS not in ready.message


@pytest.mark.parametrize("dropped", [[], ["ons", "ons_reports"]], ids=["no-schemas", "two"])
def test_when_everything_is_gone_the_certificate_is_written_and_the_exit_is_deleted(
        dropped: list[str]) -> None:
    actions = decide(deleting(dropped=dropped),
                     seen(exists=False, present=frozenset({"pvc-of-another-tenant"})))
    assert kinds(actions) == [a.WriteCertificate, a.ForgetExitRecords, a.SetPhase]
    assert actions[0] == a.WriteCertificate(completed_at=NOW)
    phase = next(x for x in actions if isinstance(x, a.SetPhase))
    assert phase.phase is Phase.DELETED
    deleted = condition(actions, c.DELETED)
    assert deleted is not None and deleted.status is ConditionStatus.TRUE
    assert deleted.reason == c.DESTROYED
    assert f"2 volume(s) and {len(dropped)} schema(s)" in deleted.message


def test_a_crash_anywhere_resumes_from_the_recorded_status() -> None:
    """Pass after pass, folding each pass's status: the same sequence a restarted
    operator would follow, ending in Deleted with the targets recorded once."""
    exit = deleting(started=False, drop_databases=True)
    script = [
        (seen(), a.RecordDeletionTargets),
        (seen(), a.DropDatabases),
        (seen(), a.DeleteNamespace),
        (seen(contents=False, present=frozenset()), a.ReleaseNamespace),
        (seen(exists=False, present=frozenset()), a.WriteCertificate),
    ]
    for observed, wanted in script:
        actions = decide(exit, observed)
        assert wanted in kinds(actions), (wanted, kinds(actions))
        changes = a.status_actions(actions)
        if wanted is a.DropDatabases:  # what the adapter reports after dropping
            changes.append(a.RecordDroppedDatabases(("ons", "ons_reports")))
        status = fold(exit.status, changes, generation=1, now=NOW)
        exit = make_exit(spec=exit.spec.model_dump(mode="json", by_alias=True),
                         status=status.model_dump(mode="json", by_alias=True))
    deletion = exit.status.deletion
    assert exit.status.phase is Phase.DELETED
    assert deletion is not None and deletion.started_at == NOW and deletion.namespace_uid == UID
    assert [v.persistent_volume for v in deletion.volumes or []] == [PV_DOCS, PV_DB]
    assert deletion.databases_dropped == ["ons", "ons_reports"]
