"""Deleting, table-driven: record the targets, drop schemas if asked, open the guard,
release the volumes, delete the namespace, wait for all of it to be gone, then the
certificate and Deleted. Each pass re-issues what is not observed done yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus, Phase, TenantVolume
from tenant_exit.phases import actions as a
from tenant_exit.phases.deleting import archive_check_due, decide
from tenant_exit.phases.observed import DestructionSeen, NamespaceState, Observed, VolumeSeen
from tenant_exit.phases.status_update import fold
from tenant_exit.storage.archive_check import ArchiveReading, ObjectReading
from tests.support.exits import DIGEST, example_spec, make_exit
from tests.support.observed import no_namespace, observation

NOW = datetime(2027, 3, 6, 9, 0, tzinfo=UTC)
STARTED = NOW - timedelta(minutes=2)
NS = "tenant-zorggroep-noord"
UID = "0b9c6f2e-namespace-uid"
PV_DOCS = "pvc-1111-docs"
PV_DB = "pvc-2222-db"
CLAIM_DOCS = "c1aim-docs-uid"
CLAIM_DB = "c1aim-db-uid"
VOLUMES = (
    VolumeSeen(PV_DOCS, f"{NS}/client-documents", "10Gi", CLAIM_DOCS),
    VolumeSeen(PV_DB, f"{NS}/data-mysql-0", "20Gi", CLAIM_DB),
)
RECORDED_VOLUMES = [
    {"persistentVolume": PV_DOCS, "claim": f"{NS}/client-documents", "capacity": "10Gi",
     "claimUid": CLAIM_DOCS},
    {"persistentVolume": PV_DB, "claim": f"{NS}/data-mysql-0", "capacity": "20Gi",
     "claimUid": CLAIM_DB},
]
# What the backup recorded: the manifest held only `ons`; the server was this one.
TERMS = {"exitUid": "exit-uid-1234", "host": "mysql.recorded.svc", "port": 3307,
         "schemas": ["ons", "ons_reports"], "bucket": "tenant-exits",
         "exitFolder": "zorggroep-noord/zorggroep-noord-exit-uid/"}


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
        "tenant": {"namespaceUid": UID, "volumes": RECORDED_VOLUMES[:1]},
        "terms": TERMS,
        "backup": {"manifest": MANIFEST, "manifestSha256": DIGEST,
                   "schemas": ["ons"]},
        "receipt": {"confirmedAt": "2027-03-03T08:00:00Z", "confirmedBy": "it@example.org"},
        "deletion": deletion,
    })


MANIFEST = "zorggroep-noord/m/manifest.json"
INTACT = ArchiveReading("tenant-exits", MANIFEST, DIGEST, objects=(
    ObjectReading("zorggroep-noord/m/database-ons.sql.zst.age", 2048, 2048),))


def seen(*, exists: bool = True, contents: bool = True,
         present: frozenset[str] = frozenset({PV_DOCS, PV_DB}),
         other_uid: str | None = None, archive: ArchiveReading | None = INTACT) -> Observed:
    return observation(
        NOW, NamespaceState(name=NS, terminating=exists and not contents) if exists else None,
        destruction=DestructionSeen(
            namespace_exists=exists, namespace_uid=UID if exists else None,
            contents_remaining=exists and contents,
            bound_volumes=VOLUMES if exists and contents else (),
            present_volumes=present,
            other_namespace_uid=other_uid,
        ),
        archive=archive,
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
    # The volume recorded while bound, and the one bound since (by claim UID).
    assert actions[0] == a.RecordDeletionTargets(
        started_at=NOW, namespace_uid=UID,
        volumes=(TenantVolume(persistent_volume=PV_DOCS, claim=f"{NS}/client-documents",
                              claim_uid=CLAIM_DOCS, capacity="10Gi"),
                 TenantVolume(persistent_volume=PV_DB, claim=f"{NS}/data-mysql-0",
                              claim_uid=CLAIM_DB, capacity="20Gi")),
    )
    ready = condition(actions, c.READY)
    assert ready is not None and ready.reason == c.DELETION_IN_PROGRESS
    assert "2 volume(s)" in ready.message


def test_schemas_are_dropped_right_after_the_archive_is_found_intact() -> None:
    actions = decide(deleting(drop_databases=True), seen())
    # Exactly the manifest's schemas, on the recorded server — not the live spec's.
    assert [x for x in actions if not isinstance(x, a.SetCondition)] == [
        a.RecordArchiveVerified(NOW), a.DropDatabases(("ons",), "mysql.recorded.svc", 3307)]
    assert a.DeleteNamespace not in kinds(actions), "schemas first: their Secret is in the ns"


def test_without_schemas_to_drop_the_namespace_steps_follow_the_check_in_one_pass() -> None:
    """The namespace steps are then the first irreversible ones: the check and they
    run in the same pass, so no later change of the bucket slips in between."""
    actions = decide(deleting(), seen())
    assert kinds(actions) == [a.RecordArchiveVerified, a.RecordDroppedDatabases,
                              a.AllowNamespaceDeletion, a.ReleaseVolumes, a.DeleteNamespace]
    assert a.RecordDroppedDatabases(()) in actions


CHANGED = [
    pytest.param(ArchiveReading("tenant-exits", MANIFEST, "ab" * 32), "now has SHA-256 abab",
                 id="manifest-overwritten"),
    pytest.param(ArchiveReading("tenant-exits", MANIFEST, None), "is gone",
                 id="manifest-deleted"),
    pytest.param(ArchiveReading("tenant-exits", MANIFEST, DIGEST, objects=(
        ObjectReading("zorggroep-noord/m/documents-x.tar.zst.age", 4096, None),)),
        "documents-x.tar.zst.age is missing", id="object-deleted"),
    pytest.param(ArchiveReading("tenant-exits", MANIFEST, DIGEST, objects=(
        ObjectReading("zorggroep-noord/m/database-ons.sql.zst.age", 2048, 17),)),
        "has 17 bytes, the manifest says 2048", id="object-truncated"),
]


@pytest.mark.parametrize(("reading", "named"), CHANGED)
@pytest.mark.parametrize("drop", [True, False], ids=["dropDatabases", "namespace-only"])
def test_a_changed_archive_stops_the_deletion_before_anything_is_destroyed(
        reading: ArchiveReading, named: str, drop: bool) -> None:
    actions = decide(deleting(drop_databases=drop), seen(archive=reading))
    assert a.side_effects(actions) == [], "not one destructive (or any) call"
    assert not any(isinstance(x, a.RecordArchiveVerified | a.RecordDroppedDatabases)
                   for x in actions)
    stalled = condition(actions, c.STALLED)
    assert stalled is not None and stalled.status is ConditionStatus.TRUE
    assert stalled.reason == c.ARCHIVE_CHANGED and named in stalled.message
    assert "Nothing was deleted" in stalled.message and "s3://tenant-exits/" in stalled.message


def test_a_store_that_does_not_answer_holds_the_deletion_without_stalling() -> None:
    down = ArchiveReading("tenant-exits", MANIFEST, None, unreachable=(
        f"s3://tenant-exits/{MANIFEST}: EndpointConnectionError: Could not connect"))
    actions = decide(deleting(drop_databases=True), seen(archive=down))
    assert a.side_effects(actions) == []
    assert condition(actions, c.STALLED) is None, "an outage heals by itself: retried"
    ready = condition(actions, c.READY)
    assert ready is not None and ready.status is ConditionStatus.FALSE
    assert ready.reason == c.ARCHIVE_UNREACHABLE and "Could not connect" in ready.message


def test_an_unread_archive_is_not_taken_for_an_intact_one() -> None:
    actions = decide(deleting(drop_databases=True), seen(archive=None))
    assert a.side_effects(actions) == []
    assert not any(isinstance(x, a.RecordArchiveVerified) for x in actions)


def test_once_the_first_step_is_recorded_the_archive_is_not_read_again() -> None:
    assert archive_check_due(deleting())
    assert not archive_check_due(deleting(started=False)), "targets first"
    assert not archive_check_due(deleting(dropped=[])), "past the first irreversible step"
    assert not archive_check_due(deleting(dropped=["ons"]))


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
    assert a.ReleaseVolumes((CLAIM_DOCS, CLAIM_DB)) in actions
    assert a.DeleteNamespace(UID) in actions
    assert a.WriteCertificate not in kinds(actions)
    assert not any(isinstance(x, a.SetPhase) for x in actions)


def test_the_wait_names_what_it_waits_for() -> None:
    ready = condition(decide(deleting(dropped=[]), seen(present=frozenset({PV_DB}))), c.READY)
    assert ready is not None and ready.reason == c.DELETION_IN_PROGRESS
    assert f"empty {NS}" in ready.message and f"volumes {PV_DB} to be deleted" in ready.message


def test_namespace_gone_but_volumes_remaining_waits_for_them() -> None:
    actions = decide(deleting(dropped=[]), seen(exists=False, present=frozenset({PV_DB})))
    assert kinds(actions) == [a.ReleaseVolumes]
    assert a.ReleaseVolumes((CLAIM_DOCS, CLAIM_DB)) in actions
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
    changed = ArchiveReading("tenant-exits", MANIFEST, "ab" * 32)
    script = [
        (seen(), a.RecordDeletionTargets),
        # Changed, then put back by a person: the same pass order resumes.
        (seen(archive=changed), a.SetCondition),
        (seen(), a.DropDatabases),
        (seen(), a.DeleteNamespace),
        (seen(contents=False, present=frozenset()), a.ReleaseNamespace),
        (seen(exists=False, present=frozenset()), a.WriteCertificate),
    ]
    for observed, wanted in script:
        actions = decide(exit, observed)
        assert wanted in [type(x) for x in actions], (wanted, kinds(actions))
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
    assert deletion.archive_verified_at == NOW


def test_a_namespace_recreated_under_the_tenants_name_is_never_touched() -> None:
    """Scenario 4: ours went, a GitOps self-heal re-created one of the same name. The
    survey reports it as another UID; the deletion completes without a single call on
    it and says so in status."""
    actions = decide(deleting(dropped=[]),
                     seen(exists=False, present=frozenset(), other_uid="new-namespace-uid"))
    assert not {a.AllowNamespaceDeletion, a.DeleteNamespace, a.ReleaseNamespace,
                a.ReleaseVolumes} & set(kinds(actions))
    assert a.WriteCertificate in kinds(actions)
    note = next(x for x in actions if isinstance(x, a.RecordNotOurs))
    assert note.message is not None and "new-namespace-uid" in note.message
