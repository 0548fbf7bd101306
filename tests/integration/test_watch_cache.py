"""The operator's watch cache (kube/cache.py) on the real control plane.

It must answer what the API answers (a namespace, its bound claims' volumes, a
label changed, a namespace gone), and it may only ever decide that a pass has
nothing to do: such a pass makes no API request at all, while a pass that finds a
drift through the cache repairs it from fresh reads. The passes run in-process
under the operator's identity, as in test_identities_cluster.py. No database
touched: the exits acknowledge that writes are not frozen.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit
from tenant_exit.kube import guards
from tenant_exit.kube.cache import ClusterCache
from tenant_exit.reconcile.context import Context
from tenant_exit.reconcile.passes import reconcile
from tenant_exit.settings import OperatorSettings
from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.volumes import LocalVolumes
from tests.support.exits import example_spec
from tests.support.operator_process import OPERATOR_NAMESPACE, install_crds, operator_kubeconfig
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


class CountingApiClient(client.ApiClient):  # type: ignore[misc]
    """A real client that counts the requests it sends."""

    calls = 0

    def call_api(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return super().call_api(*args, **kwargs)


@pytest.fixture(scope="module")
def kubeconfig(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Path:
    install_crds(control_plane)
    return operator_kubeconfig(control_plane, Path(tmp_path_factory.mktemp("cache")) / "kc")


@pytest.fixture(scope="module")
def cache(kubeconfig: Path) -> Iterator[ClusterCache]:
    made = ClusterCache(client.CoreV1Api(config.new_client_from_config(str(kubeconfig))))
    made.start(wait_seconds=30)
    assert made.fresh, "the watch cache did not list namespaces, claims and volumes in 30 s"
    yield made
    made.stop()


@pytest.fixture
def namespace(control_plane: ControlPlane) -> Iterator[str]:
    name = f"tenant-{uuid.uuid4().hex[:6]}"
    client.CoreV1Api(control_plane.api_client()).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    control_plane.kubectl("delete", "texit", "-l", f"test-namespace={name}", "--wait=false",
                          check=False)
    control_plane.kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_the_cache_answers_what_the_api_answers(
        cache: ClusterCache, kubeconfig: Path, control_plane: ControlPlane,
        local_volumes: LocalVolumes, namespace: str) -> None:
    core = client.CoreV1Api(control_plane.api_client())
    # The guard labels may be written by the operator only (the namespace guard policy).
    as_operator = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
    local_volumes.provision(namespace, "docs", "16Mi", "Delete")
    live = wait_for("the claim bound to its volume",
                    lambda: (seen := guards.read_guards(core, namespace)) and seen.volumes
                    and seen)
    wait_for("the cache to show the bound volume",
             lambda: cache.guards(namespace) == guards.read_guards(core, namespace))
    cached = cache.guards(namespace)
    assert cached is not None and cached.volumes == live.volumes
    claim = core.read_namespaced_persistent_volume_claim("docs", namespace)
    assert cached.volumes[0].claim_uid == claim.metadata.uid

    as_operator.patch_namespace(namespace, {"metadata": {
        "labels": {names.LABEL_EXIT: "another-exit"}, "finalizers": [names.NAMESPACE_FINALIZER]}})
    wait_for("the cache to show the label and finalizer", lambda: (
        (seen := cache.guards(namespace)) is not None and seen.exit == "another-exit"
        and seen.has_finalizer and seen == guards.read_guards(core, namespace)))

    assert cache.guards(f"{namespace}-never-made") is None
    as_operator.patch_namespace(namespace, {"metadata": {
        "$deleteFromPrimitiveList/finalizers": [names.NAMESPACE_FINALIZER]}})
    core.delete_namespace(namespace)
    wait_for("the cache to see the namespace gone", lambda: cache.guards(namespace) is None,
             timeout=90)


def _held_spec(namespace: str) -> dict[str, Any]:
    spec = example_spec(namespace)
    spec["readOnly"] = {"until": "2099-01-01T00:00:00Z", "database": "None",
                        "writesNotFrozenAcknowledgement": "watch cache test: no database runs"}
    spec["documents"] = []
    return spec


def test_a_pass_with_nothing_to_do_sends_no_request_and_a_drift_is_repaired(
        cache: ClusterCache, kubeconfig: Path, control_plane: ControlPlane,
        local_volumes: LocalVolumes, namespace: str) -> None:
    admin = client.CustomObjectsApi(control_plane.api_client())
    core = client.CoreV1Api(control_plane.api_client())
    counting = CountingApiClient(configuration=_configuration(kubeconfig))
    ctx = Context(core=client.CoreV1Api(counting), batch=client.BatchV1Api(counting),
                  custom=client.CustomObjectsApi(counting),
                  settings=OperatorSettings(operator_namespace=OPERATOR_NAMESPACE), cache=cache)
    name = f"exit-{namespace.removeprefix('tenant-')}"
    admin.create_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL, {
        "apiVersion": names.API_VERSION, "kind": names.KIND,
        "metadata": {"name": name, "labels": {"test-namespace": namespace}},
        "spec": _held_spec(namespace)})

    def stored() -> TenantExit:
        return TenantExit.from_body(admin.get_cluster_custom_object(
            names.GROUP, names.VERSION, names.PLURAL, name))

    def held() -> bool:
        reconcile(stored(), ctx)
        ready = [x for x in stored().status.conditions if x.type == "Ready"]
        return bool(ready) and ready[0].reason == "LicenceRunning"

    wait_for("the exit held in its licence", held, timeout=60)
    wait_for("the cache to show the guards", lambda: (
        (seen := cache.guards(namespace)) is not None and seen.exit == name
        and seen.deletion == names.DELETION_BLOCKED and seen.has_finalizer))

    before = stored()
    counting.calls = 0
    reconcile(before, ctx)
    assert counting.calls == 0, "a pass with nothing to do sent requests"
    assert stored().metadata.resource_version == before.metadata.resource_version

    # A drift the cache sees (a new claim whose volume would be deleted with it): the
    # pass acts, on fresh reads, and the volume is kept.
    volume = local_volumes.provision(namespace, "late-claim", "16Mi", "Delete")
    wait_for("the cache to see the new claim's volume", lambda: (
        (seen := cache.guards(namespace)) is not None
        and [v.persistent_volume for v in seen.volumes] == [volume.pv_name]))
    reconcile(stored(), ctx)
    assert counting.calls > 0
    pv = core.read_persistent_volume(volume.pv_name)
    assert pv.spec.persistent_volume_reclaim_policy == "Retain"
    recorded = stored().status.tenant
    assert recorded is not None and [v.persistent_volume for v in recorded.volumes] == [
        volume.pv_name]


def _configuration(kubeconfig: Path) -> client.Configuration:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    return configuration
