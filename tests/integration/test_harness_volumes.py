"""Local volumes bind through the real PV controller, pods see them as
directories, and reclaim policies decide what survives a deleted namespace."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.kubelet import ProcessKubelet
from tests.localcluster.volumes import LocalVolumes
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


@pytest.fixture
def core(control_plane: ControlPlane) -> client.CoreV1Api:
    return client.CoreV1Api(control_plane.api_client())


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = f"volumes-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as err:
        if err.status != 404:
            raise


def _read(call: Any) -> Any:
    try:
        return call()
    except ApiException as err:
        if err.status == 404:
            return None
        raise


def test_a_claim_binds_to_its_pv(
    core: client.CoreV1Api, local_volumes: LocalVolumes, namespace: str
) -> None:
    volume = local_volumes.provision(namespace, "docs", size="2Gi")

    pvc = core.read_namespaced_persistent_volume_claim("docs", namespace)
    pv = core.read_persistent_volume(volume.pv_name)
    assert (pvc.status.phase, pvc.spec.volume_name) == ("Bound", volume.pv_name)
    assert pv.status.phase == "Bound"
    assert pv.spec.claim_ref.uid == pvc.metadata.uid  # bound by the PV controller
    assert pv.spec.local.path == str(volume.path) and volume.path.is_dir()


def test_a_file_written_by_a_pod_lands_in_the_pv_directory(
    core: client.CoreV1Api, kubelet: ProcessKubelet, local_volumes: LocalVolumes, namespace: str
) -> None:
    volume = local_volumes.provision(namespace, "docs")
    (volume.path / "scan.pdf").write_bytes(b"%PDF-1.4")
    core.create_namespaced_pod(namespace, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "writer"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{
                "name": "main", "image": "busybox:1.36",
                "command": ["sh", "-c", "wc -c < /data/docs/scan.pdf > /data/docs/out/size"],
                "volumeMounts": [{"name": "docs", "mountPath": "/data/docs"}],
            }],
            "initContainers": [{
                "name": "mkdir", "image": "busybox:1.36",
                "command": ["mkdir", "-p", "/data/docs/out"],
                "volumeMounts": [{"name": "docs", "mountPath": "/data/docs"}],
            }],
            "volumes": [{"name": "docs", "persistentVolumeClaim": {"claimName": "docs"}}],
        },
    })

    wait_for("pod writer Succeeded", lambda: core.read_namespaced_pod(
        "writer", namespace).status.phase == "Succeeded")

    assert (volume.path / "out" / "size").read_text().strip() == "8"


def test_reclaim_policy_decides_what_outlives_the_namespace(
    core: client.CoreV1Api, local_volumes: LocalVolumes, namespace: str
) -> None:
    kept = local_volumes.provision(namespace, "kept", reclaim_policy="Retain")
    dropped = local_volumes.provision(namespace, "dropped", reclaim_policy="Delete")
    for volume in (kept, dropped):
        (volume.path / "record.txt").write_text("client record")

    core.delete_namespace(namespace)
    wait_for(f"namespace {namespace} gone",
             lambda: _read(lambda: core.read_namespace(namespace)) is None, timeout=60)

    try:
        wait_for(f"PV {dropped.pv_name} deleted",
                 lambda: _read(lambda: core.read_persistent_volume(dropped.pv_name)) is None)
        assert not dropped.path.exists()
        released = wait_for(f"PV {kept.pv_name} Released", lambda: (
            pv := core.read_persistent_volume(kept.pv_name)).status.phase == "Released" and pv)
        assert released.spec.persistent_volume_reclaim_policy == "Retain"
        assert (kept.path / "record.txt").read_text() == "client record"
    finally:
        _read(lambda: core.delete_persistent_volume(kept.pv_name))
        shutil.rmtree(kept.path, ignore_errors=True)
