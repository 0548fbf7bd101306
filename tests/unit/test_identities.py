"""Identities and recorded terms (issue 10), the pure decisions: adoption of a
manifest, the namespace checked by UID, volumes recorded by claim UID, the terms
frozen once, a receipt quoting an earlier backup, the drop-time system check."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from tenant_exit.api import conditions as c
from tenant_exit.api import names
from tenant_exit.api.admission import guard_policies
from tenant_exit.api.restore import RestoreMode
from tenant_exit.api.status import BackupTerms, Phase, TenantVolume
from tenant_exit.api.terms import changed_terms, terms_from_spec
from tenant_exit.kube import policies
from tenant_exit.mysql.drop import system_schemas_in
from tenant_exit.phases import actions as a
from tenant_exit.phases.cancel import decide as cancel
from tenant_exit.phases.guards import keep_guards
from tenant_exit.phases.machine import PHASES
from tenant_exit.phases.machine import decide as machine
from tenant_exit.phases.observed import NamespaceState, Observed, VolumeSeen
from tenant_exit.phases.status_update import fold
from tenant_exit.storage.adoption import term_differences
from tenant_exit.storage.manifest import (
    DatabaseRecord,
    DocumentsRecord,
    Encryption,
    Manifest,
    SchemaRecord,
    Totals,
)
from tests.support.exits import AGE_RECIPIENT, DIGEST, example_spec, make_exit

NOW = datetime(2027, 3, 3, tzinfo=UTC)
NS = "tenant-zorggroep-noord"
EXIT = "zorggroep-noord"
UID = "ns-uid-recorded"
LICENCE = Phase.READ_ONLY_LICENSED


def manifest(uid: str = "uid-zorggroep-noord", schemas: tuple[str, ...] = ("ons",),
             claims: tuple[str, ...] = ("client-documents",),
             recipients: tuple[str, ...] = (AGE_RECIPIENT,)) -> Manifest:
    return Manifest(
        exit_name=EXIT, exit_uid=uid, attempt=1, started_at=NOW, completed_at=NOW,
        encryption=Encryption(recipients=list(recipients)), objects=[],
        database=DatabaseRecord(server_version="x", dump_tool="x", dump_options=[],
                                exclude_patterns=[], exclusion_reason="x",
                                schemas=[SchemaRecord(name=s, object_key=s, tables=[])
                                         for s in schemas]),
        documents=[DocumentsRecord(claim=d, object_key=d, files=0, bytes=0,
                                   exclude_patterns=[], exclusion_reason="x") for d in claims],
        totals=Totals(tables=0, rows=0, database_bytes=0, files=0, document_bytes=0))


def differences(found: Manifest) -> list[str]:
    terms = terms_from_spec(make_exit(), RestoreMode.REQUIRED)
    return term_differences(found, exit_uid=terms.exit_uid, schemas=terms.schemas,
                            claims=terms.claims, recipients=terms.recipients)


@pytest.mark.parametrize(("found", "says"), [
    pytest.param(manifest(uid="uid-of-the-cancelled-exit"), "TenantExit UID", id="other-exit"),
    pytest.param(manifest(uid=None), "UID unknown", id="before-uids"),  # type: ignore[arg-type]
    pytest.param(manifest(schemas=("ONS",)), "schemas ONS", id="schema-case"),
    pytest.param(manifest(schemas=("ons", "ons_reports")), "ons_reports", id="more-schemas"),
    pytest.param(manifest(claims=()), "document claims none", id="claim-missing"),
    pytest.param(manifest(recipients=("age1other",)), "ageRecipients", id="recipients"),
])
def test_a_manifest_of_another_exit_or_other_terms_is_not_adopted(found: Manifest,
                                                                  says: str) -> None:
    problems = differences(found)
    assert len(problems) == 1 and says in problems[0], problems


def test_the_manifest_of_these_terms_is_adopted() -> None:
    assert differences(manifest()) == []


def test_the_exit_folder_carries_the_uid() -> None:
    terms = terms_from_spec(make_exit(), RestoreMode.REQUIRED)
    assert terms.exit_folder == "zorggroep-noord/zorggroep-noord-uid-zorg/"
    assert names.attempt_folder(terms.exit_folder, 2).endswith("-uid-zorg/attempt-2/")


def guarded(**changes: Any) -> Observed:
    ns = NamespaceState(name=NS, guarded_by=EXIT, has_finalizer=True,
                        deletion_label=names.DELETION_BLOCKED, phase_annotation=LICENCE.value,
                        uid=UID)
    return Observed(now=NOW, operator_namespace="tenant-exit-system",
                    namespace=replace(ns, **changes), app_flag_value="true",
                    credential_namespaces=("tenant-exit-system",))


def licensed(**status: Any) -> Any:
    return make_exit(status={"phase": LICENCE.value, "tenant": {"namespaceUid": UID}, **status})


def test_a_namespace_with_another_uid_stalls_the_exit_and_is_not_touched() -> None:
    actions = machine(licensed(), guarded(uid="uid-of-a-recreated-namespace", guarded_by=None))
    assert a.side_effects(actions) == []
    stalled = next(x for x in actions if isinstance(x, a.SetCondition) and x.type == c.STALLED)
    assert stalled.reason == c.NAMESPACE_REPLACED
    assert "uid-of-a-recreated-namespace" in stalled.message and UID in stalled.message


def test_cancel_of_a_replaced_namespace_lifts_no_guard_there() -> None:
    assert cancel(licensed(), guarded(uid="another")) == [a.RevertReadOnly(),
                                                          a.RemoveDownloadLinks()]
    assert a.RemoveGuards(namespace_uid=UID, claim_uids=()) in cancel(licensed(), guarded())


def test_volumes_bound_since_are_recorded_by_claim_uid_and_guarded() -> None:
    known = TenantVolume(persistent_volume="pv-1", claim=f"{NS}/docs", claim_uid="c-1")
    exit = licensed(tenant={"namespaceUid": UID,
                            "volumes": [known.model_dump(mode="json", by_alias=True)]})
    seen = guarded(volumes=(VolumeSeen("pv-1", f"{NS}/docs", None, "c-1"),
                            VolumeSeen("pv-2", f"{NS}/db", "1Gi", "c-2")),
                   unretained_volumes=("pv-2",))
    actions = keep_guards(exit, seen, LICENCE)
    assert actions == [
        a.RecordTenantVolumes((TenantVolume(persistent_volume="pv-2", claim=f"{NS}/db",
                                            claim_uid="c-2", capacity="1Gi"),)),
        a.ApplyGuards(phase=LICENCE, namespace_uid=UID),
    ]
    status = fold(exit.status, a.status_actions(actions), generation=1, now=NOW)
    assert status.tenant is not None
    assert [v.claim_uid for v in status.tenant.volumes] == ["c-1", "c-2"]


def test_identity_and_terms_are_recorded_once() -> None:
    first = terms_from_spec(make_exit(), RestoreMode.REQUIRED)
    later = BackupTerms(**{**first.model_dump(), "host": "elsewhere"})
    status = fold(make_exit().status, [a.RecordTenantIdentity("first"), a.RecordTerms(first)],
                  generation=1, now=NOW)
    status = fold(status, [a.RecordTenantIdentity("second"), a.RecordTerms(later)],
                  generation=2, now=NOW)
    assert status.tenant is not None and status.tenant.namespace_uid == "first"
    assert status.terms == first


def test_a_spec_edited_after_the_backup_began_is_reported() -> None:
    terms = terms_from_spec(make_exit(), RestoreMode.REQUIRED).model_dump(
        mode="json", by_alias=True)
    spec = example_spec()
    spec["database"]["databases"] = ["ons", "ons_new"]
    spec["database"]["host"] = "other.example"
    edited = make_exit(spec=spec, status={"phase": "AwaitingReceipt", "terms": terms})
    assert changed_terms(edited) == ["spec.database.host", "spec.database.databases"]
    assert changed_terms(make_exit(status={"terms": terms})) == []


def test_a_receipt_quoting_an_earlier_backup_has_its_own_reason() -> None:
    spec = example_spec()
    spec["receipt"] = {"confirmedBy": "it@x.nl", "manifestSha256": "ab" * 32}
    exit = make_exit(spec=spec, status={
        "phase": "AwaitingReceipt", "tenant": {"namespaceUid": UID},
        "backup": {"manifest": "m/manifest.json", "manifestSha256": DIGEST,
                   "linksExpireAt": "2027-03-09T00:00:00Z"}})
    seen = replace(guarded(phase_annotation="AwaitingReceipt"),
                   earlier_manifest="zorggroep-noord/zorggroep-noord-0ld0ld00/attempt-1/"
                                    "manifest.json")
    actions = PHASES[Phase.AWAITING_RECEIPT](exit, seen)
    receipt = next(x for x in actions if isinstance(x, a.SetCondition)
                   and x.type == c.RECEIPT_CONFIRMED)
    assert receipt.reason == c.RECEIPT_EARLIER_BACKUP
    assert "0ld0ld00" in receipt.message and not any(isinstance(x, a.RecordReceipt)
                                                     for x in actions)


@pytest.mark.parametrize(("schemas", "refused"), [
    (["ons", "ONS"], []), (["MYSQL", "ons"], ["MYSQL"]), (["Sys", "performance_schema"],
                                                          ["Sys", "performance_schema"]),
])
def test_system_schemas_are_refused_at_drop_time_in_any_case(schemas: list[str],
                                                             refused: list[str]) -> None:
    assert system_schemas_in(schemas) == refused


def test_a_changed_spec_is_reported_and_the_recorded_terms_stay() -> None:
    terms = terms_from_spec(make_exit(), RestoreMode.REQUIRED).model_dump(
        mode="json", by_alias=True)
    spec = example_spec()
    spec["database"]["host"] = "other.example"
    exit = make_exit(spec=spec, status={"phase": "Deleted", "terms": terms})
    (differ,) = [x for x in machine(exit, guarded()) if isinstance(x, a.SetCondition)
                 and x.type == c.TERMS_DIFFER]
    assert differ.reason == c.TERMS_CHANGED and "spec.database.host" in differ.message
    status = fold(exit.status, [differ], generation=2, now=NOW)
    assert status.terms is not None and status.terms.host == "mysql.tenant-zorggroep-noord.svc"


# --- the guard policies (issue 10, guards that cannot be walked around) -----------

OPERATOR = "system:serviceaccount:tenant-exit-system:tenant-exit-operator"


def _live(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


def test_intact_policies_with_server_defaults_have_no_problems() -> None:
    expected = guard_policies(OPERATOR)
    live = copy.deepcopy(expected)
    for doc in live:  # what the API server adds
        if doc["kind"].endswith("Binding"):
            doc["spec"]["matchResources"] = {"namespaceSelector": {}, "objectSelector": {},
                                             "matchPolicy": "Equivalent"}
        else:
            doc["spec"]["matchConstraints"]["matchPolicy"] = "Equivalent"
            doc["spec"]["auditAnnotations"] = []
    assert policies.problems(expected, _live(live)) == []


def test_missing_altered_or_narrowed_policies_are_named() -> None:
    expected = guard_policies(OPERATOR)
    live = _live(copy.deepcopy(expected))
    live["ValidatingAdmissionPolicyBinding/tenantexit-namespace-guard"] = None
    altered = live["ValidatingAdmissionPolicy/tenantexit-terms-guard"]
    assert altered is not None
    altered["spec"]["validations"] = altered["spec"]["validations"][:1]
    narrowed = live["ValidatingAdmissionPolicyBinding/tenantexit-terms-guard"]
    assert narrowed is not None
    narrowed["spec"]["matchResources"] = {"objectSelector": {"matchLabels": {"x": "y"}}}
    assert policies.problems(expected, live) == [
        "ValidatingAdmissionPolicyBinding tenantexit-namespace-guard is missing",
        "ValidatingAdmissionPolicy tenantexit-terms-guard differs from the one the operator "
        "ships",
        "ValidatingAdmissionPolicyBinding tenantexit-terms-guard is narrowed to some "
        "namespaces or objects",
    ]
    other_user = _live(guard_policies("system:serviceaccount:x:someone-else"))
    assert len(policies.problems(expected, other_user)) == 2


def test_a_missing_guard_stops_the_backup_and_the_deletion_from_starting() -> None:
    missing = ("ValidatingAdmissionPolicy tenantexit-namespace-guard is missing",)
    due = replace(guarded(), guard_problems=missing, now=datetime(2027, 3, 2, tzinfo=UTC))
    actions = machine(licensed(), due)
    assert not any(isinstance(x, a.SetPhase) for x in actions)
    assert a.CreateBackupJob not in [type(x) for x in actions]
    stalled = next(x for x in actions if isinstance(x, a.SetCondition) and x.type == c.STALLED)
    assert stalled.reason == c.GUARD_MISSING and missing[0] in stalled.message
    no_licence = example_spec()
    no_licence.pop("readOnly")
    assert a.side_effects(machine(make_exit(spec=no_licence), due)) == []
    spec = example_spec()
    spec["receipt"] = {"confirmedBy": "it@x.nl", "manifestSha256": DIGEST}
    waiting = make_exit(spec=spec, status={
        "phase": "AwaitingReceipt", "tenant": {"namespaceUid": UID},
        "backup": {"manifest": "m/manifest.json", "manifestSha256": DIGEST,
                   "linksExpireAt": "2027-03-09T00:00:00Z"},
        "receipt": {"confirmedAt": "2027-02-01T00:00:00Z", "confirmedBy": "it@x.nl"},
        "deletion": {"notBefore": "2027-02-04T00:00:00Z"}})
    held = machine(waiting, replace(due, namespace=replace(
        due.namespace, phase_annotation="AwaitingReceipt")))  # type: ignore[type-var]
    assert not any(isinstance(x, a.SetPhase) for x in held)
    assert any(isinstance(x, a.SetCondition) and x.reason == c.GUARD_MISSING for x in held)
