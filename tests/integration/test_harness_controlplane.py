"""The local control plane has real Kubernetes semantics: these are the ones the
exit's promises rest on (namespace cascade, finalizers, admission policies)."""

from __future__ import annotations

import uuid

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.localcluster.controlplane import ControlPlane
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _gone(read: object) -> bool:
    try:
        read()  # type: ignore[operator]
    except ApiException as err:
        if err.status == 404:
            return True
        raise
    return False


def test_version_is_the_pinned_release(control_plane: ControlPlane) -> None:
    version = control_plane.version()
    versions = (control_plane.bin_dir.name).split("_")[0]
    assert version["gitVersion"] == versions.removeprefix("kube-")
    out = control_plane.kubectl("version", "-o", "json").stdout
    assert version["gitVersion"] in out


def test_deleting_a_namespace_removes_everything_in_it(control_plane: ControlPlane) -> None:
    core = client.CoreV1Api(control_plane.api_client())
    ns = _name("cascade")
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    core.create_namespaced_config_map(
        ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm"), data={"a": "b"})
    )
    core.create_namespaced_secret(
        ns, client.V1Secret(metadata=client.V1ObjectMeta(name="s"), string_data={"k": "v"})
    )
    core.create_namespaced_persistent_volume_claim(
        ns,
        client.V1PersistentVolumeClaim(
            metadata=client.V1ObjectMeta(name="claim"),
            spec=client.V1PersistentVolumeClaimSpec(
                access_modes=["ReadWriteOnce"],
                resources=client.V1VolumeResourceRequirements(requests={"storage": "1Mi"}),
                storage_class_name="none",
            ),
        ),
    )

    core.delete_namespace(ns)

    wait_for(f"namespace {ns} gone", lambda: _gone(lambda: core.read_namespace(ns)), timeout=90)
    assert core.list_namespaced_config_map(ns).items == []
    assert core.list_namespaced_secret(ns).items == []
    assert core.list_namespaced_persistent_volume_claim(ns).items == []


def test_a_finalizer_holds_a_deleted_object_until_removed(control_plane: ControlPlane) -> None:
    core = client.CoreV1Api(control_plane.api_client())
    ns = _name("finalizer")
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    core.create_namespaced_config_map(
        ns,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="held", finalizers=["example.com/hold"])
        ),
    )

    core.delete_namespaced_config_map("held", ns)

    held = core.read_namespaced_config_map("held", ns)
    assert held.metadata.deletion_timestamp is not None
    assert held.metadata.finalizers == ["example.com/hold"]
    core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})
    wait_for("finalizer-released ConfigMap gone",
             lambda: _gone(lambda: core.read_namespaced_config_map("held", ns)))
    core.delete_namespace(ns)


def test_a_validating_admission_policy_denies_namespace_delete(
    control_plane: ControlPlane,
) -> None:
    api = control_plane.api_client()
    core = client.CoreV1Api(api)
    admission = client.AdmissionregistrationV1Api(api)
    policy = _name("deny-ns-delete")
    ns = _name("protected")
    admission.create_validating_admission_policy(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": policy},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["DELETE"],
                            "resources": ["namespaces"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": f"oldObject.metadata.name != '{ns}'",
                        "messageExpression": "'namespace ' + oldObject.metadata.name"
                        " + ' is protected by the harness test'",
                    }
                ],
            },
        }
    )
    admission.create_validating_admission_policy_binding(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": policy},
            "spec": {"policyName": policy, "validationActions": ["Deny"]},
        }
    )
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    try:
        # Policies load asynchronously; a server-side dry run goes through
        # admission without deleting, so it tells when the policy is active.
        def denied_dry_run() -> str | None:
            result = control_plane.kubectl(
                "delete", "namespace", ns, "--dry-run=server", check=False
            )
            return result.stderr if result.returncode != 0 else None

        wait_for("the policy to become active", denied_dry_run, timeout=30)
        result = control_plane.kubectl("delete", "namespace", ns, "--wait=false", check=False)
        assert result.returncode != 0
        assert f"namespace {ns} is protected by the harness test" in result.stderr
        assert core.read_namespace(ns).metadata.deletion_timestamp is None
    finally:
        admission.delete_validating_admission_policy_binding(policy)
        admission.delete_validating_admission_policy(policy)
    wait_for(
        "namespace delete allowed once the policy is gone",
        lambda: control_plane.kubectl("delete", "namespace", ns, "--wait=false", check=False)
        .returncode == 0,
        timeout=30,
    )
