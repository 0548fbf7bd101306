"""Issue 10, scenario 9 and the guards: the namespace guard cannot be walked around
through the status or finalize subresources, a cancel never hands a Released
volume back to Delete, and the operator does not start the backup while a guard
policy is missing. The operator as a process; real control plane and MariaDB."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tenant_exit.api import names
from tenant_exit.api.admission import POLICY_NAME
from tests.support.exit_tenant import ExitTenant, in_seconds
from tests.support.operator_process import GUARD_POLICY_FILE
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


def test_guard_labels_and_finalizer_cannot_be_stripped_through_subresources(
        exit_tenant: ExitTenant) -> None:
    exit_tenant.apply_exit(exit_tenant.spec(until=in_seconds(3600)))
    exit_tenant.wait_for_phase("ReadOnlyLicensed")
    core = exit_tenant.core  # the admin, not the operator
    stripped = {"metadata": {"labels": {names.LABEL_EXIT: None, names.LABEL_DELETION: None}}}
    with pytest.raises(ApiException) as refused:
        core.patch_namespace_status(exit_tenant.namespace, stripped)
    assert refused.value.status in (403, 422), refused.value.status
    assert "managed by the tenant-exit operator only" in str(refused.value.body)

    ns = core.read_namespace(exit_tenant.namespace)
    ns.metadata.finalizers = [f for f in ns.metadata.finalizers or []
                              if f != names.NAMESPACE_FINALIZER]
    with pytest.raises(ApiException) as refused:
        core.replace_namespace_finalize(exit_tenant.namespace, ns)
    assert refused.value.status in (403, 422), refused.value.status

    meta = exit_tenant.namespace_meta()
    assert meta.labels[names.LABEL_EXIT] == exit_tenant.exit_name
    assert meta.labels[names.LABEL_DELETION] == names.DELETION_BLOCKED
    assert names.NAMESPACE_FINALIZER in meta.finalizers


def test_cancel_keeps_a_released_volume_at_retain(exit_tenant: ExitTenant) -> None:
    exit_tenant.apply_exit(exit_tenant.spec(until=in_seconds(3600)))
    exit_tenant.wait_for_phase("ReadOnlyLicensed")
    wait_for("volumes retained", lambda: set(exit_tenant.reclaim_policies().values())
             == {"Retain"})
    documents = next(pv for pv in exit_tenant.core.list_persistent_volume().items
                     if pv.metadata.name in exit_tenant.volumes
                     and pv.spec.claim_ref.name == "client-documents")
    # Deleting a claim inside a guarded namespace is allowed; its volume is Released.
    exit_tenant.core.delete_namespaced_persistent_volume_claim("client-documents",
                                                               exit_tenant.namespace)
    wait_for("the documents volume Released", lambda: exit_tenant.core.read_persistent_volume(
        documents.metadata.name).status.phase == "Released")

    exit_tenant.delete_exit()

    policies = exit_tenant.reclaim_policies()
    assert policies[documents.metadata.name] == "Retain", "Delete would destroy its data now"
    others = [name for name in exit_tenant.volumes if name != documents.metadata.name]
    assert [policies[name] for name in others] == ["Delete"], "the bound one is restored"
    exit_tenant.core.delete_persistent_volume(documents.metadata.name)


def test_the_backup_waits_while_the_guard_binding_is_missing(
        exit_tenant: ExitTenant, tmp_path: Path) -> None:
    admission = client.AdmissionregistrationV1Api(
        config.new_client_from_config(config_file=str(exit_tenant.plane.kubeconfig)))
    admission.delete_validating_admission_policy_binding(POLICY_NAME)
    try:
        exit_tenant.apply_exit(exit_tenant.spec(until=in_seconds(3)))
        exit_tenant.wait_for_phase("ReadOnlyLicensed")
        stalled = wait_for("GuardMissing", lambda: (
            s := exit_tenant.condition("Stalled")) and s["reason"] == "GuardMissing" and s)
        assert f"ValidatingAdmissionPolicyBinding {POLICY_NAME} is missing" in stalled["message"]
        assert exit_tenant.exit()["status"]["phase"] == "ReadOnlyLicensed"  # type: ignore[index]
        assert exit_tenant.jobs() == []
    finally:
        exit_tenant.plane.kubectl("apply", "--server-side", "--force-conflicts", "-f",
                                  str(GUARD_POLICY_FILE))
    exit_tenant.wait_for_phase("BackupRunning")
