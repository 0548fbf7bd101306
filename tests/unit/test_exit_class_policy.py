"""A TenantExitClass's defaults fill what the exit leaves unset; its limits are
checked against the effective spec; the recorded policy, not the live class, is
what an exit runs on (pure: api/policy.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tenant_exit.api.exit_class import DEFAULT_CLASS_ANNOTATION, TenantExitClass
from tenant_exit.api.policy import (
    ExitPolicy,
    allowed_credential_namespaces,
    apply_policy,
    built_in_policy,
    choose_class,
    policy_from_class,
    violations,
)
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.spec import DatabaseReadOnlyMode, Language, TenantExitSpec
from tests.support.exits import AGE_RECIPIENT, body

PQ = "age1pq1" + "q" * 1952
CLASS_S3 = {"bucket": "platform-exits", "prefix": "exits/",
            "credentialsSecret": {"namespace": "tenant-exit-system", "name": "platform-s3"}}


def a_class(name: str = "standard", default: bool = False, **spec: Any) -> TenantExitClass:
    annotations = {DEFAULT_CLASS_ANNOTATION: "true"} if default else {}
    return TenantExitClass.from_body({"metadata": {"name": name, "uid": f"uid-{name}",
                                                   "generation": 3, "annotations": annotations},
                                      "spec": spec})


STANDARD = a_class(
    destination=CLASS_S3,
    exclusions={"tables": ["*.audit_*", "*.log_archive"], "paths": ["scratch/**"]},
    deletion={"minimumGracePeriod": "24h", "defaultGracePeriod": "168h"},
    allowedCredentialNamespaces=["tenant-exit-system"],
    writeFreeze="ServerReadOnly",
    verification={"restore": "Required"},
    downloadLinkLifetime="48h",
    customerLanguage="nl",
)


def minimal_spec(**extra: Any) -> dict[str, Any]:
    """What a tenant repo writes when the class holds the platform's terms."""
    return {
        "tenantNamespace": "tenant-zorggroep-noord",
        "className": "standard",
        "database": {"host": "mysql.tenant-zorggroep-noord.svc",
                     "credentialsSecret": "exit-dump-credentials", "databases": ["ons"]},
        "documents": [{"claimName": "client-documents"}],
        "destination": {"encryption": {"ageRecipients": [AGE_RECIPIENT]}},
        **extra,
    }


def effective(spec: dict[str, Any], policy: ExitPolicy) -> TenantExitSpec:
    return apply_policy(TenantExitSpec.model_validate(spec), policy)


def test_the_class_fills_every_field_the_exit_leaves_unset() -> None:
    spec = effective(minimal_spec(), policy_from_class(STANDARD))
    assert spec.destination is not None and spec.destination.store.bucket == "platform-exits"
    assert spec.database.exclude_tables == ["*.audit_*", "*.log_archive"]
    assert spec.documents[0].exclude == ["scratch/**"]
    assert spec.deletion.grace_period == "168h"
    assert spec.customer.language is Language.NL
    assert spec.read_only is not None and spec.read_only.until is None
    assert spec.read_only.database is DatabaseReadOnlyMode.SERVER_READ_ONLY


def test_what_the_exit_sets_wins_over_the_class_defaults() -> None:
    own_s3 = {**CLASS_S3, "bucket": "own-bucket"}
    spec = effective(minimal_spec(
        customer={"language": "en"}, deletion={"gracePeriod": "96h"},
        database={**minimal_spec()["database"], "excludeTables": []},
        documents=[{"claimName": "client-documents", "exclude": []}],
        readOnly={"database": "RevokeWrites", "until": "2027-03-01T00:00:00Z"},
        destination={"s3": own_s3, "encryption": {"ageRecipients": [AGE_RECIPIENT]}},
    ), policy_from_class(STANDARD))
    assert spec.destination is not None and spec.destination.store.bucket == "own-bucket"
    assert spec.database.exclude_tables == [] and spec.documents[0].exclude == []
    assert spec.deletion.grace_period == "96h" and spec.customer.language is Language.EN
    assert spec.read_only is not None
    assert spec.read_only.database is DatabaseReadOnlyMode.REVOKE_WRITES


def test_without_a_class_the_documented_defaults_apply() -> None:
    spec = effective({**minimal_spec(), "className": None}, built_in_policy())
    assert spec.database.exclude_tables == ["*.audit_*", "*.import_*", "*.export_*"]
    assert spec.documents[0].exclude == ["import/**", "export/**", "tmp/**"]
    assert spec.deletion.grace_period == "72h" and spec.customer.language is Language.EN
    assert spec.read_only is None  # no class freeze: as before classes existed
    assert spec.destination is not None and spec.destination.s3 is None


def test_a_minimum_above_the_built_in_default_raises_the_default() -> None:
    policy = policy_from_class(a_class(deletion={"minimumGracePeriod": "96h"}))
    assert policy.grace_period == "96h" and policy.minimum_grace_period == "96h"


@pytest.mark.parametrize(("extra", "expected"), [
    ({"deletion": {"gracePeriod": "1h"}},
     "spec.deletion.gracePeriod 1h is shorter than the minimum 24h of TenantExitClass standard"),
    ({"readOnly": {"database": "None"}},
     "spec.readOnly.database None does not freeze writes; TenantExitClass standard requires "
     "ServerReadOnly"),
    ({"destination": {"s3": {**CLASS_S3, "credentialsSecret": {"namespace": "team-a",
                                                               "name": "s3"}},
                      "encryption": {"ageRecipients": [AGE_RECIPIENT]}}},
     "credentialsSecret is in namespace team-a; TenantExitClass standard allows credentials "
     "only from: tenant-exit-system"),
])
def test_an_exit_may_not_loosen_a_limit(extra: dict[str, Any], expected: str) -> None:
    problems = violations(effective(minimal_spec(**extra), policy_from_class(STANDARD)),
                          policy_from_class(STANDARD))
    assert len(problems) == 1 and expected in problems[0], problems


def test_an_exit_may_tighten_a_limit() -> None:
    tighter = minimal_spec(deletion={"gracePeriod": "720h"},
                           readOnly={"database": "RevokeWrites"})
    assert violations(effective(tighter, policy_from_class(STANDARD)),
                      policy_from_class(STANDARD)) == []


def test_post_quantum_recipients_when_the_class_requires_them() -> None:
    policy = policy_from_class(a_class(encryption={"requirePostQuantum": True}))
    classical = effective(minimal_spec(), policy)
    assert "requires post-quantum recipients" in violations(classical, policy)[0]
    pq = effective(minimal_spec(destination={"encryption": {"ageRecipients": [PQ]}}), policy)
    assert violations(pq, policy) == []


@pytest.mark.parametrize(("name", "classes", "chosen", "problem"), [
    ("standard", [STANDARD], "standard", None),
    ("missing", [STANDARD], None, "TenantExitClass missing (spec.className) does not exist"),
    (None, [STANDARD], None, None),
    (None, [STANDARD, a_class("house", default=True)], "house", None),
    (None, [a_class("a", default=True), a_class("b", default=True)], None,
     "several TenantExitClasses are marked default (a, b)"),
])
def test_which_class_an_exit_gets(name: str | None, classes: list[TenantExitClass],
                                  chosen: str | None, problem: str | None) -> None:
    got, why = choose_class(name, classes)
    assert (got.metadata.name if got else None) == chosen
    assert (why is None) if problem is None else (why is not None and problem in why)


def test_a_class_narrows_the_operators_credential_namespaces_never_widens_them() -> None:
    policy = ExitPolicy(credential_namespaces=["tenant-exit-system", "elsewhere"])
    assert allowed_credential_namespaces(policy, ("tenant-exit-system", "team-a")) == (
        "tenant-exit-system",)
    assert allowed_credential_namespaces(None, ("tenant-exit-system",)) == ("tenant-exit-system",)


def test_the_recorded_policy_not_the_live_class_shapes_a_stored_exit() -> None:
    """from_body applies status.policy: a class edited afterwards is never read again."""
    recorded = policy_from_class(STANDARD).model_dump(mode="json", by_alias=True,
                                                      exclude_none=True)
    stored = body(spec=minimal_spec(), status={"phase": "BackupRunning", "policy": recorded})
    exit = TenantExit.from_body(stored)
    assert exit.spec.deletion.grace_period == "168h"
    assert exit.spec.destination is not None
    assert exit.spec.destination.store.bucket == "platform-exits"
    assert exit.status.policy is not None and exit.status.policy.class_generation == 3
    assert exit.status.policy.link_lifetime is not None
    assert exit.status.policy.link_lifetime.total_seconds() == 48 * 3600


def test_the_first_recorded_policy_stands() -> None:
    from datetime import UTC, datetime

    from tenant_exit.api.status import TenantExitStatus
    from tenant_exit.phases.actions import RecordPolicy
    from tenant_exit.phases.status_update import fold

    now = datetime(2027, 1, 1, tzinfo=UTC)
    first = policy_from_class(STANDARD)
    status = fold(TenantExitStatus(), [RecordPolicy(first)], generation=1, now=now)
    edited = policy_from_class(a_class(deletion={"minimumGracePeriod": "720h"}))
    assert fold(status, [RecordPolicy(edited)], generation=2, now=now).policy == first


def test_a_pass_refuses_an_edit_below_the_recorded_minimum_without_reading_the_class() -> None:
    """The record, not the live class: `admitted` needs no cluster for a recorded exit."""
    from typing import cast

    from tenant_exit.api import conditions as c
    from tenant_exit.reconcile.admitted import admitted
    from tenant_exit.reconcile.context import Context
    from tenant_exit.reconcile.failures import ExitError

    recorded = policy_from_class(STANDARD).model_dump(mode="json", by_alias=True,
                                                      exclude_none=True)
    no_cluster = cast(Context, None)
    fine = TenantExit.from_body(body(spec=minimal_spec(), status={"policy": recorded}))
    assert admitted(fine, no_cluster) == (fine, [])
    edited = TenantExit.from_body(body(spec=minimal_spec(deletion={"gracePeriod": "2h"}),
                                       status={"phase": "AwaitingReceipt", "policy": recorded}))
    with pytest.raises(ExitError) as refused:
        admitted(edited, no_cluster)
    assert refused.value.reason == c.CLASS_LIMITS_EXCEEDED and refused.value.permanent
    assert "gracePeriod 2h is shorter than the minimum 24h of TenantExitClass standard" in str(
        refused.value)


def test_the_class_restore_level_is_the_default_and_an_exit_may_not_ask_for_less() -> None:
    policy = policy_from_class(STANDARD)
    spec = effective(minimal_spec(), policy)
    assert spec.verification is not None and spec.verification.restore == "Required"
    assert violations(spec, policy) == []

    weaker = effective(minimal_spec(verification={"restore": "BestEffort"}), policy)
    assert weaker.verification is not None and weaker.verification.restore == "BestEffort"
    [refused] = violations(weaker, policy)
    assert "spec.verification.restore BestEffort" in refused and "Required" in refused

    lenient = policy_from_class(a_class(verification={"restore": "BestEffort"}))
    stronger = effective(minimal_spec(verification={"restore": "Required"}), lenient)
    assert violations(stronger, lenient) == []


def keys_spec(**s3: Any) -> dict[str, Any]:
    return minimal_spec(destination={"s3": {**CLASS_S3, **s3},
                                     "encryption": {"ageRecipients": [AGE_RECIPIENT]}})


def test_platform_keys_are_refused_unless_the_class_allows_them() -> None:
    """Secure by default: a class that says nothing gives its exits scoped sessions only."""
    policy = policy_from_class(STANDARD)
    assert policy.allow_platform_keys is False
    [refused] = violations(effective(keys_spec(uploadCredentials="PlatformKeys"), policy),
                           policy)
    assert refused.startswith("spec.destination.s3.uploadCredentials PlatformKeys is not "
                              "allowed by TenantExitClass standard (allowPlatformKeys"), refused
    assert violations(effective(keys_spec(uploadCredentials="Scoped"), policy), policy) == []
    # Presigned puts no key in the tenant namespace: nothing for the class to allow.
    assert violations(effective(keys_spec(uploadCredentials="Presigned"), policy),
                      policy) == []

    allowing = policy_from_class(a_class(allowPlatformKeys=True))
    assert violations(effective(keys_spec(uploadCredentials="PlatformKeys"), allowing),
                      allowing) == []


def test_without_a_class_and_in_older_records_platform_keys_stay_allowed() -> None:
    """No class could forbid them before: an exit without a class, and one whose terms
    were recorded before the field existed, keep running as they did."""
    spec = keys_spec(uploadCredentials="PlatformKeys")
    assert violations(effective({**spec, "className": None}, built_in_policy()),
                      built_in_policy()) == []
    older = policy_from_class(STANDARD).model_dump(mode="json", by_alias=True,
                                                   exclude_none=True)
    del older["allowPlatformKeys"]
    stored = TenantExit.from_body(body(spec=spec, status={"phase": "BackupRunning",
                                                          "policy": older}))
    assert stored.status.policy is not None and stored.status.policy.allow_platform_keys
    assert violations(stored.spec, stored.status.policy) == []

