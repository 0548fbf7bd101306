"""The claim survey behind `BackupPodPending`, against the real API server: pods
and PersistentVolumes as Kubernetes stores them, the Job-name label as the Job
controller sets it. The pods are bound to nodes that do not exist, so they stay
Pending without a kubelet running them (a second node is not in the harness)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes.client import models as k

from tenant_exit.kube.claims import JOB_NAME_LABEL, pending_backup_pod
from tests.localcluster.controlplane import ControlPlane

pytestmark = pytest.mark.cluster

JOB = "exit-x-backup-1"


@pytest.fixture
def namespace(control_plane: ControlPlane) -> Iterator[str]:
    core = client.CoreV1Api(control_plane.api_client())
    name = f"claims-{uuid.uuid4().hex[:6]}"
    core.create_namespace(k.V1Namespace(metadata=k.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


def pod(name: str, node: str, claim: str, labels: dict[str, str] | None = None) -> k.V1Pod:
    return k.V1Pod(
        metadata=k.V1ObjectMeta(name=name, labels=labels or {}),
        spec=k.V1PodSpec(
            node_name=node,
            containers=[k.V1Container(name="c", image="unused", command=["true"])],
            volumes=[k.V1Volume(name="docs", persistent_volume_claim=(
                k.V1PersistentVolumeClaimVolumeSource(claim_name=claim)))]))


def volume(name: str, namespace: str, claim: str, mode: str) -> k.V1PersistentVolume:
    return k.V1PersistentVolume(
        metadata=k.V1ObjectMeta(name=name),
        spec=k.V1PersistentVolumeSpec(
            access_modes=[mode], capacity={"storage": "1Mi"},
            host_path=k.V1HostPathVolumeSource(path=f"/nonexistent/{name}"),
            claim_ref=k.V1ObjectReference(namespace=namespace, name=claim)))


def test_a_pending_backup_pod_names_the_pod_holding_its_read_write_once_claim(
        control_plane: ControlPlane, namespace: str) -> None:
    core = client.CoreV1Api(control_plane.api_client())
    suffix = namespace.rsplit("-", 1)[1]
    pvs = [volume(f"docs-{suffix}", namespace, "client-documents", "ReadWriteOnce"),
           volume(f"shared-{suffix}", namespace, "shared", "ReadWriteMany")]
    for pv in pvs:
        core.create_persistent_volume(pv)
    try:
        assert pending_backup_pod(core, namespace, JOB) is None, "no pod yet"
        core.create_namespaced_pod(namespace, pod("app-0", "node-a", "client-documents"))
        core.create_namespaced_pod(namespace, pod("web-0", "node-a", "shared"))
        core.create_namespaced_pod(namespace, pod(f"{JOB}-abcde", "node-b", "client-documents",
                                                  {JOB_NAME_LABEL: JOB}))
        found = pending_backup_pod(core, namespace, JOB)
        assert found is not None and found.pod == f"{JOB}-abcde"
        assert found.since is not None
        assert found.holders == (
            "claim client-documents (ReadWriteOnce) is mounted by pod app-0 on node node-a",)
    finally:
        for pv in pvs:
            core.delete_persistent_volume(pv.metadata.name)
