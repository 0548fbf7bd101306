"""The real API server refuses malformed TenantExits with a message that says why.

Each case changes one thing in the valid example and applies it with kubectl
(strict field validation, as a user would); the error must name the problem.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.localcluster.controlplane import ControlPlane
from tests.support.exits import AGE_RECIPIENT, DIGEST, example_spec
from tests.support.operator_process import install_crds, operator_kubeconfig

pytestmark = pytest.mark.cluster

Spec = dict[str, Any]


@pytest.fixture(scope="module")
def crd(control_plane: ControlPlane) -> ControlPlane:
    install_crds(control_plane)
    return control_plane


def manifest(name: str, spec: Spec) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "tenantexit.io/v1alpha1",
            "kind": "TenantExit",
            "metadata": {"name": name},
            "spec": spec,
        }
    )


def apply(plane: ControlPlane, name: str, spec: Spec) -> tuple[int, str]:
    result = plane.kubectl("apply", "-f", "-", input=manifest(name, spec), check=False)
    return result.returncode, result.stderr


def changed(edit: Callable[[Spec], object]) -> Spec:
    spec = example_spec(f"tenant-{uuid.uuid4().hex[:8]}")
    edit(spec)
    return spec


def _set(path: str, value: Any) -> Callable[[Spec], None]:
    def edit(spec: Spec) -> None:
        *parents, last = path.split(".")
        target = spec
        for key in parents:
            target = target.setdefault(key, {})
        target[last] = value

    return edit


def _drop(path: str) -> Callable[[Spec], None]:
    def edit(spec: Spec) -> None:
        *parents, last = path.split(".")
        target = spec
        for key in parents:
            target = target[key]
        del target[last]

    return edit


def _receipt_without_destination(spec: Spec) -> None:
    spec.pop("destination")
    spec["receipt"] = {"confirmedBy": "it@zorggroep-noord.nl", "manifestSha256": DIGEST}


MALFORMED = [
    ("port-is-a-string", _set("database.port", "three"), "spec.database.port"),
    ("port-out-of-range", _set("database.port", 70000), "less than or equal to 65535"),
    ("unknown-field", _set("surprise", True), 'unknown field "spec.surprise"'),
    ("unknown-nested-field", _set("database.hots", "x"), 'unknown field "spec.database.hots"'),
    (
        "bad-read-only-mode",
        _set("readOnly.database", "ReadMostly"),
        'Unsupported value: "ReadMostly"',
    ),
    (
        "digest-not-hex",
        _set("receipt", {"confirmedBy": "it@x.nl", "manifestSha256": "ABC"}),
        "spec.receipt.manifestSha256",
    ),
    (
        "digest-too-short",
        _set("receipt", {"confirmedBy": "it@x.nl", "manifestSha256": "9f2c"}),
        "^[0-9a-f]{64}$",
    ),
    ("grace-period-prose", _set("deletion.gracePeriod", "3 days"), "spec.deletion.gracePeriod"),
    ("namespace-uppercase", _set("tenantNamespace", "Tenant_X"), "spec.tenantNamespace"),
    ("namespace-kube-system", _set("tenantNamespace", "kube-system"), "protected namespace"),
    ("namespace-default", _set("tenantNamespace", "default"), "protected namespace"),
    ("namespace-missing", _drop("tenantNamespace"), "spec.tenantNamespace: Required value"),
    ("database-missing", _drop("database"), "spec.database: Required value"),
    (
        "credentials-missing",
        _drop("database.credentialsSecret"),
        "spec.database.credentialsSecret: Required value",
    ),
    ("until-not-a-time", _set("readOnly.until", "tomorrow"), "spec.readOnly.until"),
    ("system-schema", _set("database.databases", ["ons", "mysql"]), "system schemas"),
    ("duplicate-schema", _set("database.databases", ["ons", "ons"]), "Duplicate value"),
    (
        "duplicate-claim",
        _set("documents", [{"claimName": "docs"}, {"claimName": "docs"}]),
        "Duplicate value",
    ),
    ("claim-name-with-space", _set("documents", [{"claimName": "client docs"}]), "claimName"),
    ("exclude-without-schema", _set("database.excludeTables", ["audit"]), "excludeTables"),
    (
        "age-recipient-malformed",
        _set("destination.encryption.ageRecipients", ["age1bad"]),
        "ageRecipients",
    ),
    ("no-age-recipient", _set("destination.encryption.ageRecipients", []), "at least 1 item"),
    ("receipt-without-destination", _receipt_without_destination, "receipt requires a destination"),
    (
        "endpoint-not-http",
        _set("destination.s3.endpoint", "ftp://objects"),
        "spec.destination.s3.endpoint",
    ),
    (
        "bucket-uppercase",
        _set("destination.s3.bucket", "Tenant_Exits"),
        "spec.destination.s3.bucket",
    ),
    ("account-without-host", _set("readOnly.accounts", ["app"]), "spec.readOnly.accounts"),
    (
        "app-flag-without-key",
        _set("readOnly.appFlag", {"configMap": "app-settings"}),
        "spec.readOnly.appFlag.key: Required value",
    ),
    ("language-not-offered", _set("customer.language", "de"), 'supported values: "nl", "en"'),
    (
        "request-time-prose",
        _set("request", {"ticket": "ZD-1", "requestedBy": "j@x.nl", "requestedAt": "last week"}),
        "spec.request.requestedAt",
    ),
    (
        "request-without-ticket",
        _set("request", {"requestedBy": "j@x.nl", "requestedAt": "2027-02-14T09:30:00Z"}),
        "spec.request.ticket: Required value",
    ),
]


@pytest.mark.parametrize(("case", "edit", "expected"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_exit_is_refused_with_a_readable_message(
    crd: ControlPlane, case: str, edit: Callable[[Spec], None], expected: str
) -> None:
    code, stderr = apply(crd, f"bad-{case}"[:48], changed(edit))
    assert code != 0, f"{case} was accepted"
    assert expected in stderr, stderr


def test_a_name_too_long_for_the_job_name_is_refused(crd: ControlPlane) -> None:
    code, stderr = apply(crd, "x" * 49, changed(lambda s: None))
    assert code != 0 and "at most 48 characters" in stderr, stderr


def test_the_example_is_accepted_and_defaults_are_filled(crd: ControlPlane) -> None:
    """Server-side defaults fill what no TenantExitClass may set; what a class may
    default (grace period, language, exclusions) stays unset, so the class's value
    can apply when the operator takes the exit on (status.policy)."""
    name = f"ok-{uuid.uuid4().hex[:6]}"
    spec = changed(_drop("database.port"))
    del spec["deletion"]
    del spec["database"]["excludeTables"]
    code, stderr = apply(crd, name, spec)
    assert code == 0, stderr
    stored = yaml.safe_load(crd.kubectl("get", "texit", name, "-o", "yaml").stdout)["spec"]
    assert stored["database"]["port"] == 3306
    assert "deletion" not in stored and "customer" not in stored
    assert "excludeTables" not in stored["database"]
    crd.kubectl("delete", "texit", name, "--wait=false")


class TestChangesOfAnAcceptedExit:
    """Transition rules: what may not change once applied."""

    @pytest.fixture
    def accepted(self, crd: ControlPlane) -> tuple[str, Spec]:
        name = f"t-{uuid.uuid4().hex[:6]}"
        spec = changed(_set("receipt", {"confirmedBy": "it@x.nl", "manifestSha256": DIGEST}))
        code, stderr = apply(crd, name, spec)
        assert code == 0, stderr
        yield name, spec
        crd.kubectl("delete", "texit", name, "--wait=false")

    def test_the_tenant_namespace_is_immutable(self, crd, accepted) -> None:
        name, spec = accepted
        code, stderr = apply(crd, name, {**spec, "tenantNamespace": "tenant-other"})
        assert code != 0 and "tenantNamespace is immutable" in stderr, stderr

    def test_a_receipt_may_be_corrected_or_withdrawn_before_deleting(
        self, crd, accepted
    ) -> None:
        name, spec = accepted
        other = {"confirmedBy": "someone@else.nl", "manifestSha256": DIGEST}
        code, stderr = apply(crd, name, {**spec, "receipt": other})
        assert code == 0, stderr
        without = copy.deepcopy(spec)
        del without["receipt"]
        code, stderr = apply(crd, name, without)
        assert code == 0, stderr

    def test_the_receipt_is_final_once_deleting(self, crd, accepted, tmp_path) -> None:
        name, spec = accepted
        # Only the operator's identity may write the status (the terms policy).
        operator = operator_kubeconfig(crd, tmp_path / "operator.kubeconfig")
        crd.kubectl(
            f"--kubeconfig={operator}",
            "patch", "texit", name, "--subresource=status", "--type=merge",
            "-p", '{"status": {"phase": "Deleting"}}',
        )
        other = {"confirmedBy": "someone@else.nl", "manifestSha256": DIGEST}
        code, stderr = apply(crd, name, {**spec, "receipt": other})
        assert code != 0 and "receipt is final once the exit is Deleting" in stderr, stderr
        without = copy.deepcopy(spec)
        del without["receipt"]
        code, stderr = apply(crd, name, without)
        assert code != 0 and "receipt is final once the exit is Deleting" in stderr, stderr

    def test_other_fields_may_change(self, crd, accepted) -> None:
        name, spec = accepted
        longer = copy.deepcopy(spec)
        longer["readOnly"]["until"] = "2027-06-01T00:00:00Z"
        longer["destination"]["encryption"]["ageRecipients"].append(AGE_RECIPIENT)
        code, stderr = apply(crd, name, longer)
        assert code == 0, stderr
