"""`kubectl apply` of a TenantExit that loosens its TenantExitClass's limits is
refused with a message naming the class and the limit; tightening is accepted;
once status.policy is recorded, edits are held to the record, not to the class
edited since. The generated policy (crds/class-limits-policy.yaml) on the real
kube-apiserver, applied with the real kubectl, as a platform engineer would.

No operator runs here: the operator's own check of the same limits is covered by
tests/e2e/test_exit_class.py. A default class is created only inside the test
that needs it and removed after: on the shared control plane it would give every
other module's exits its terms.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from tenant_exit.api import names
from tenant_exit.api.exit_class import DEFAULT_CLASS_ANNOTATION
from tests.localcluster.controlplane import ControlPlane
from tests.support.class_admission import wait_until_admission
from tests.support.exits import AGE_RECIPIENT
from tests.support.operator_process import install_crds, operator_kubeconfig

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def plane(control_plane: ControlPlane) -> ControlPlane:
    install_crds(control_plane)
    return control_plane


@pytest.fixture(scope="module")
def operator_custom(plane: ControlPlane,
                    tmp_path_factory: pytest.TempPathFactory) -> client.CustomObjectsApi:
    """The operator's identity: the only one that may write a TenantExit's status."""
    path = operator_kubeconfig(plane, Path(tmp_path_factory.mktemp("cls")) / "kc")
    return client.CustomObjectsApi(config.new_client_from_config(config_file=str(path)))


def class_manifest(name: str, spec: dict[str, Any], default: bool = False) -> str:
    metadata: dict[str, Any] = {"name": name}
    if default:
        metadata["annotations"] = {DEFAULT_CLASS_ANNOTATION: "true"}
    return yaml.safe_dump({"apiVersion": names.API_VERSION, "kind": "TenantExitClass",
                           "metadata": metadata, "spec": spec})


@pytest.fixture
def strict_class(plane: ControlPlane) -> Iterator[str]:
    name = f"strict-{uuid.uuid4().hex[:6]}"
    plane.kubectl("apply", "-f", "-", input=class_manifest(name, {
        "destination": {"bucket": "platform-exits", "prefix": "exits/",
                        "credentialsSecret": {"namespace": "tenant-exit-system",
                                              "name": "platform-s3"}},
        "deletion": {"minimumGracePeriod": "72h", "defaultGracePeriod": "168h"},
        "allowedCredentialNamespaces": ["tenant-exit-system"],
        "writeFreeze": "RevokeWrites",
        "encryption": {"requirePostQuantum": False},
    }))
    # The policy's params come from a watch: wait until the new class is enforced.
    wait_until_admission(plane, _probe(name, deletion={"gracePeriod": "1h"}), refuses=True)
    yield name
    plane.kubectl("delete", "tenantexitclass", name, "--wait=false", check=False)


@pytest.fixture
def exits(plane: ControlPlane) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for name in made:
        plane.kubectl("delete", "texit", name, "--wait=false", check=False)


def exit_manifest(name: str, class_name: str | None, **extra: Any) -> str:
    spec: dict[str, Any] = {
        "tenantNamespace": f"tenant-{name}",
        "database": {"host": f"mysql.tenant-{name}.svc", "credentialsSecret": "dump",
                     "databases": ["ons"]},
        "documents": [{"claimName": "client-documents"}],
        "destination": {"encryption": {"ageRecipients": [AGE_RECIPIENT]}},
        **extra,
    }
    if class_name is not None:
        spec["className"] = class_name
    return yaml.safe_dump({"apiVersion": names.API_VERSION, "kind": names.KIND,
                           "metadata": {"name": name}, "spec": spec})


def _probe(class_name: str | None, **extra: Any) -> dict[str, Any]:
    """An exit only ever dry-run, to learn what admission enforces at the moment."""
    return dict(yaml.safe_load(exit_manifest(f"probe-{uuid.uuid4().hex[:6]}", class_name,
                                             **extra)))


def apply(plane: ControlPlane, exits: list[str], class_name: str | None, **extra: Any
          ) -> tuple[str, int, str]:
    name = f"cls-{uuid.uuid4().hex[:6]}"
    result = plane.kubectl("apply", "-f", "-", input=exit_manifest(name, class_name, **extra),
                           check=False)
    if result.returncode == 0:
        exits.append(name)
    return name, result.returncode, result.stderr


def test_a_grace_period_below_the_class_minimum_is_refused_at_apply(
        plane: ControlPlane, strict_class: str, exits: list[str]) -> None:
    _, code, stderr = apply(plane, exits, strict_class, deletion={"gracePeriod": "1h"})
    assert code != 0
    assert (f"spec.deletion.gracePeriod 1h is shorter than the minimum 72h of TenantExitClass "
            f"{strict_class}") in stderr, stderr
    assert "ValidatingAdmissionPolicy 'tenantexit-class-limits'" in stderr, stderr


@pytest.mark.parametrize(("extra", "expected"), [
    ({"readOnly": {"database": "None", "writesNotFrozenAcknowledgement": (
        "accepted by the platform team, ticket ZD-1")}},
     "spec.readOnly.database None would let the tenant write during the backup"),
    ({"destination": {"s3": {"bucket": "own", "credentialsSecret": {"namespace": "team-a",
                                                                    "name": "s3"}},
                      "encryption": {"ageRecipients": [AGE_RECIPIENT]}}},
     "spec.destination.s3.credentialsSecret is in namespace team-a"),
], ids=["no-write-freeze", "credentials-namespace"])
def test_other_loosened_limits_are_refused_with_the_class_named(
        plane: ControlPlane, strict_class: str, exits: list[str], extra: dict[str, Any],
        expected: str) -> None:
    _, code, stderr = apply(plane, exits, strict_class, **extra)
    assert code != 0 and expected in stderr and strict_class in stderr, stderr


def test_tightening_and_the_class_defaults_are_accepted(
        plane: ControlPlane, strict_class: str, exits: list[str]) -> None:
    _, code, stderr = apply(plane, exits, strict_class, deletion={"gracePeriod": "720h"},
                            readOnly={"database": "ServerReadOnly"})
    assert code == 0, stderr
    _, code, stderr = apply(plane, exits, strict_class)  # everything from the class
    assert code == 0, stderr


def test_an_exit_naming_another_class_is_not_held_to_this_one(
        plane: ControlPlane, strict_class: str, exits: list[str]) -> None:
    """The policy runs once per class; only the exit's own class applies."""
    lenient = f"lenient-{uuid.uuid4().hex[:6]}"
    plane.kubectl("apply", "-f", "-", input=class_manifest(lenient, {}))
    try:
        _, code, stderr = apply(plane, exits, lenient, deletion={"gracePeriod": "1h"})
        assert code == 0, stderr
    finally:
        plane.kubectl("delete", "tenantexitclass", lenient, "--wait=false")


def test_the_default_class_holds_an_exit_that_names_none(
        plane: ControlPlane, exits: list[str]) -> None:
    default = f"house-{uuid.uuid4().hex[:6]}"
    plane.kubectl("apply", "-f", "-", input=class_manifest(
        default, {"deletion": {"minimumGracePeriod": "24h"}}, default=True))
    wait_until_admission(plane, _probe(None, deletion={"gracePeriod": "2h"}), refuses=True)
    try:
        _, code, stderr = apply(plane, exits, None, deletion={"gracePeriod": "2h"})
        assert code != 0 and f"of TenantExitClass {default}" in stderr, stderr
        _, code, stderr = apply(plane, exits, None, deletion={"gracePeriod": "48h"})
        assert code == 0, stderr
    finally:
        plane.kubectl("delete", "tenantexitclass", default, "--wait=true")
    wait_until_admission(plane, _probe(None, deletion={"gracePeriod": "2h"}), refuses=False)
    _, code, stderr = apply(plane, exits, None, deletion={"gracePeriod": "2h"})
    assert code == 0, f"without a default class nothing holds it: {stderr}"


def test_once_recorded_edits_are_held_to_the_record_not_to_the_edited_class(
        plane: ControlPlane, strict_class: str, exits: list[str],
        operator_custom: client.CustomObjectsApi) -> None:
    name, code, stderr = apply(plane, exits, strict_class, deletion={"gracePeriod": "96h"})
    assert code == 0, stderr
    # What the operator records when it takes the exit on (its status is the operator's).
    operator_custom.patch_cluster_custom_object_status(
        names.GROUP, names.VERSION, names.PLURAL, name,
        {"status": {"policy": {"className": strict_class, "gracePeriod": "168h",
                               "minimumGracePeriod": "72h", "writeFreeze": "RevokeWrites"}}})
    # The platform lowers the class's minimum: the running exit keeps 72h.
    plane.kubectl("patch", "tenantexitclass", strict_class, "--type=merge", "-p",
                  json.dumps({"spec": {"deletion": {"minimumGracePeriod": "1h",
                                                    "defaultGracePeriod": "1h"}}}))
    lowered = plane.kubectl("patch", "texit", name, "--type=merge", "-p",
                            json.dumps({"spec": {"deletion": {"gracePeriod": "2h"}}}),
                            check=False)
    assert lowered.returncode != 0
    assert "shorter than the minimum 72h of the terms recorded in its status.policy" in (
        lowered.stderr), lowered.stderr
    # Raising it again later in the class does not refuse an unrelated edit either.
    plane.kubectl("patch", "tenantexitclass", strict_class, "--type=merge", "-p",
                  json.dumps({"spec": {"deletion": {"minimumGracePeriod": "720h",
                                                    "defaultGracePeriod": "720h"}}}))
    fine = plane.kubectl("patch", "texit", name, "--type=merge", "-p",
                         json.dumps({"spec": {"deletion": {"gracePeriod": "100h"}}}),
                         check=False)
    assert fine.returncode == 0, fine.stderr
    metadata_only = plane.kubectl("annotate", "texit", name, "example.org/note=x", check=False)
    assert metadata_only.returncode == 0, metadata_only.stderr


def own_s3(upload_credentials: str) -> dict[str, Any]:
    """An exit's own destination, in the namespace the strict class allows."""
    return {"s3": {"bucket": "own", "uploadCredentials": upload_credentials,
                   "credentialsSecret": {"namespace": "tenant-exit-system", "name": "s3"}},
            "encryption": {"ageRecipients": [AGE_RECIPIENT]}}


def seen(plane: ControlPlane, class_name: str) -> None:
    """Until the policy holds exits to this new class: probed with a grace period below
    its minimum, a limit other than the one under test."""
    probe = yaml.safe_load(exit_manifest(f"probe-{uuid.uuid4().hex[:6]}", class_name,
                                         deletion={"gracePeriod": "1s"}))
    wait_until_admission(plane, probe, refuses=True)


def test_platform_keys_are_refused_on_a_class_that_does_not_allow_them(
        plane: ControlPlane, strict_class: str, exits: list[str]) -> None:
    """Secure by default: the strict class says nothing about allowPlatformKeys."""
    seen(plane, strict_class)
    _, code, stderr = apply(plane, exits, strict_class, destination=own_s3("PlatformKeys"))
    assert code != 0
    assert (f"spec.destination.s3.uploadCredentials PlatformKeys is not allowed by "
            f"TenantExitClass {strict_class} (allowPlatformKeys is not true)") in stderr, stderr
    assert "ValidatingAdmissionPolicy 'tenantexit-class-limits'" in stderr, stderr
    _, code, stderr = apply(plane, exits, strict_class, destination=own_s3("Scoped"))
    assert code == 0, stderr


def test_platform_keys_are_accepted_on_a_class_that_allows_them(
        plane: ControlPlane, exits: list[str]) -> None:
    keyed = f"keyed-{uuid.uuid4().hex[:6]}"
    plane.kubectl("apply", "-f", "-", input=class_manifest(keyed, {
        "allowPlatformKeys": True, "deletion": {"minimumGracePeriod": "24h"}}))
    try:
        seen(plane, keyed)
        _, code, stderr = apply(plane, exits, keyed, destination=own_s3("PlatformKeys"))
        assert code == 0, stderr
    finally:
        plane.kubectl("delete", "tenantexitclass", keyed, "--wait=false")


def test_a_class_whose_destination_uses_platform_keys_must_allow_them(
        plane: ControlPlane) -> None:
    name = f"keys-{uuid.uuid4().hex[:6]}"
    destination = {"bucket": "platform-exits", "uploadCredentials": "PlatformKeys",
                   "credentialsSecret": {"namespace": "tenant-exit-system",
                                         "name": "platform-s3"}}
    refused = plane.kubectl("apply", "-f", "-", check=False, input=class_manifest(
        name, {"destination": destination}))
    assert refused.returncode != 0
    assert "destination.uploadCredentials PlatformKeys needs allowPlatformKeys: true" in (
        refused.stderr), refused.stderr
    allowed = plane.kubectl("apply", "-f", "-", check=False, input=class_manifest(
        name, {"destination": destination, "allowPlatformKeys": True}))
    try:
        assert allowed.returncode == 0, allowed.stderr
    finally:
        plane.kubectl("delete", "tenantexitclass", name, "--wait=false", check=False)


def test_once_recorded_platform_keys_follow_the_record_not_the_class(
        plane: ControlPlane, strict_class: str, exits: list[str],
        operator_custom: client.CustomObjectsApi) -> None:
    """A class that allows the keys later does not let a running exit switch to them."""
    seen(plane, strict_class)
    name, code, stderr = apply(plane, exits, strict_class, destination=own_s3("Scoped"))
    assert code == 0, stderr
    operator_custom.patch_cluster_custom_object_status(
        names.GROUP, names.VERSION, names.PLURAL, name,
        {"status": {"policy": {"className": strict_class, "allowPlatformKeys": False,
                               "credentialNamespaces": ["tenant-exit-system"]}}})
    plane.kubectl("patch", "tenantexitclass", strict_class, "--type=merge", "-p",
                  json.dumps({"spec": {"allowPlatformKeys": True}}))
    fresh = yaml.safe_load(exit_manifest(f"probe-{uuid.uuid4().hex[:6]}", strict_class,
                                         destination=own_s3("PlatformKeys")))
    wait_until_admission(plane, fresh, refuses=False)  # the class now allows them
    switched = plane.kubectl("patch", "texit", name, "--type=merge", "-p", json.dumps(
        {"spec": {"destination": {"s3": {"uploadCredentials": "PlatformKeys"}}}}),
        check=False)
    assert switched.returncode != 0
    assert ("PlatformKeys is not allowed by the terms recorded in its status.policy"
            in switched.stderr), switched.stderr


def test_the_shipped_examples_are_accepted_by_the_api_server(
        plane: ControlPlane, exits: list[str]) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    suffix = uuid.uuid4().hex[:6]
    exit_class = yaml.safe_load((examples / "tenantexitclass.yaml").read_text())
    exit_class["metadata"]["name"] = f"standard-{suffix}"
    exit = yaml.safe_load((examples / "tenantexit-class.yaml").read_text())
    exit["metadata"]["name"] = f"example-{suffix}"
    exit["spec"]["className"] = exit_class["metadata"]["name"]
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(exit_class))
    try:
        applied = plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(exit), check=False)
        assert applied.returncode == 0, applied.stderr
        exits.append(exit["metadata"]["name"])
        listed = plane.kubectl("get", "tenantexitclass", exit_class["metadata"]["name"]).stdout
        assert "tenant-exits" in listed and "72h" in listed and "RevokeWrites" in listed
    finally:
        plane.kubectl("delete", "tenantexitclass", exit_class["metadata"]["name"],
                      "--wait=false")
