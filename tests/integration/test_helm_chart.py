"""The chart against the real local control plane: `helm lint`, `helm template`,
`helm install`, `helm upgrade` and `helm uninstall`, as a platform engineer runs
them. An uninstall must leave TenantExits, their CRD and the namespace guard of a
running exit in place (docs/operations.md, "CRD-keep policy")."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tenant_exit.api import names
from tests.localcluster.controlplane import ControlPlane
from tests.support.chart_identity import (
    Release,
    install,
    installed_chart,
    service_account_kubeconfig,
)
from tests.support.helm import CHART, KUBE_VERSION, helm
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

RELEASE = "texit-chart"
NAMESPACE = "texit-chart-system"


def _exists(read: object) -> bool:
    try:
        read()  # type: ignore[operator]
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def helm_revision(plane: ControlPlane, release: str, namespace: str) -> int:
    status = helm("status", release, "--namespace", namespace, "-o", "yaml",
                  kubeconfig=plane.kubeconfig)
    return int(yaml.safe_load(status.stdout)["version"])


def test_helm_lint_is_clean() -> None:
    result = helm("lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION)
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_helm_template_renders_valid_objects_for_the_api_server(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    """Server-side dry run: the real API server accepts every rendered object (schema,
    CEL of the admission policy, RBAC rules) without creating anything."""
    rendered = helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE,
                    "--include-crds", "--kube-version", KUBE_VERSION,
                    "--set", "metrics.enabled=true", "--set", "networkPolicy.enabled=true").stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    # A dry run creates no CRD, so objects of the chart's own CRDs cannot be checked.
    checkable = [d for d in docs if d["kind"] != "ClusterKopfPeering"]
    out = tmp_path / "chart.yaml"
    out.write_text(yaml.safe_dump_all(checkable))
    control_plane.kubectl("create", "namespace", NAMESPACE, check=False)
    result = control_plane.kubectl("apply", "--dry-run=server", "-f", str(out), check=False)
    assert result.returncode == 0, result.stderr
    for doc in checkable:
        assert f"{doc['metadata']['name']} " in result.stdout, doc["kind"]
    assert result.stdout.count("(server dry run)") == len(checkable)


def test_install_with_bad_values_fails_with_the_schema_message(
    control_plane: ControlPlane,
) -> None:
    result = install(control_plane.kubeconfig, {"replicaCount": 5,
                                                "podSecurityContext": {"runAsNonRoot": False}},
                     release="texit-bad", namespace="texit-bad-system", check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert "/replicaCount" in result.stderr
    assert "/podSecurityContext/runAsNonRoot" in result.stderr
    listed = helm("list", "--all-namespaces", "-q", kubeconfig=control_plane.kubeconfig)
    assert "texit-bad" not in listed.stdout.split()


@pytest.fixture()
def tenant(control_plane: ControlPlane) -> Iterator[str]:
    core = client.CoreV1Api(control_plane.api_client())
    name = f"tenant-chart-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    # The test lifts its guard labels as the operator would; if it failed before
    # that, a guard may still refuse this clean-up: leave the namespace then.
    try:
        core.delete_namespace(name)
    except ApiException as error:
        if error.status != 403:
            raise


def as_operator(release: Release, plane: ControlPlane, tmp_path: Path) -> client.CoreV1Api:
    """A client with the chart's ServiceAccount token: only it may touch guard labels."""
    from kubernetes import config

    kubeconfig = service_account_kubeconfig(
        plane.kubeconfig, plane.api_client(), release.namespace, release.service_account,
        tmp_path / f"operator-{uuid.uuid4().hex[:6]}.kubeconfig",
    )
    return client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))


def _delete_denied(plane: ControlPlane, tenant: str) -> str | None:
    result = plane.kubectl("delete", "namespace", tenant, "--dry-run=server", check=False)
    return result.stderr if result.returncode != 0 else None


def test_install_upgrade_uninstall_keep_exits_and_guards(
    control_plane: ControlPlane, tenant: str, tmp_path: Path
) -> None:
    api = control_plane.api_client()
    apps = client.AppsV1Api(api)
    rbac = client.RbacAuthorizationV1Api(api)
    custom = client.CustomObjectsApi(api)
    extensions = client.ApiextensionsV1Api(api)
    admission = client.AdmissionregistrationV1Api(api)
    exit_name = f"exit-{tenant}"

    with installed_chart(control_plane.kubeconfig, api, release=RELEASE,
                         namespace=NAMESPACE) as release:
        # -- install: every piece is there, the identity is templated in.
        assert helm_revision(control_plane, RELEASE, NAMESPACE) == 1
        control_plane.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                              f"crd/{names.CRD_NAME}", "crd/clusterkopfpeerings.kopf.dev")
        workload = apps.read_namespaced_stateful_set(f"{RELEASE}-tenant-exit-operator", NAMESPACE)
        assert workload.spec.template.spec.service_account_name == release.service_account
        assert rbac.read_cluster_role(f"{RELEASE}-tenant-exit-operator").rules
        policy = admission.read_validating_admission_policy("tenantexit-namespace-guard")
        assert f"'{release.identity}'" in policy.spec.match_conditions[0].expression

        # -- a running exit: a TenantExit and its guarded namespace.
        custom.create_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL, {
            "apiVersion": names.API_VERSION, "kind": names.KIND,
            "metadata": {"name": exit_name},
            "spec": {"tenantNamespace": tenant,
                     "database": {"host": "db.example", "credentialsSecret": "creds",
                                  "databases": ["ons"]}},
        })
        # What the operator does on entering an exit, done with the chart's identity.
        as_operator(release, control_plane, tmp_path).patch_namespace(tenant, {"metadata": {
            "labels": {names.LABEL_EXIT: exit_name, names.LABEL_DELETION: names.DELETION_BLOCKED},
            "annotations": {names.ANNOTATION_PHASE: "BackupRunning"},
        }})
        denial = wait_for("the namespace guard to deny the tenant's deletion",
                          lambda: _delete_denied(control_plane, tenant), timeout=30)
        assert f"holds the data of TenantExit {exit_name} (phase BackupRunning)" in denial
        relabel = control_plane.kubectl("label", "namespace", tenant,
                                        f"{names.LABEL_DELETION}=allowed", "--overwrite",
                                        check=False)
        assert relabel.returncode != 0
        assert "managed by the tenant-exit operator only" in relabel.stderr

        # -- upgrade: new values roll out, the release moves to revision 2.
        install(control_plane.kubeconfig, {"replicaCount": 2, "metrics": {"enabled": True}},
                release=RELEASE, namespace=NAMESPACE, action="upgrade")
        assert helm_revision(control_plane, RELEASE, NAMESPACE) == 2
        workload = apps.read_namespaced_stateful_set(f"{RELEASE}-tenant-exit-operator", NAMESPACE)
        assert workload.spec.replicas == 2
        assert client.CoreV1Api(api).read_namespaced_service(
            f"{RELEASE}-tenant-exit-operator-metrics", NAMESPACE)

        # -- an upgrade with bad values is refused and changes nothing.
        bad = install(control_plane.kubeconfig, {"replicaCount": "two"}, release=RELEASE,
                      namespace=NAMESPACE, action="upgrade", check=False)
        assert bad.returncode != 0 and "/replicaCount" in bad.stderr
        assert helm_revision(control_plane, RELEASE, NAMESPACE) == 2

        # -- uninstall: the operator goes; exits, their CRD and the guard stay.
        helm("uninstall", RELEASE, "--namespace", NAMESPACE, kubeconfig=control_plane.kubeconfig)
        wait_for("the StatefulSet to be gone", lambda: not _exists(
            lambda: apps.read_namespaced_stateful_set(f"{RELEASE}-tenant-exit-operator",
                                                      NAMESPACE)))
        assert not _exists(lambda: rbac.read_cluster_role(f"{RELEASE}-tenant-exit-operator"))
        assert _exists(lambda: extensions.read_custom_resource_definition(names.CRD_NAME))
        assert _exists(lambda: custom.get_cluster_custom_object(
            names.GROUP, names.VERSION, names.PLURAL, exit_name))
        assert _exists(lambda: admission.read_validating_admission_policy(
            "tenantexit-namespace-guard"))
        still_denied = _delete_denied(control_plane, tenant)
        assert still_denied is not None and f"TenantExit {exit_name}" in still_denied

        # -- reinstall: Helm adopts the guard it kept, nothing to clean up by hand.
        install(control_plane.kubeconfig, release=RELEASE, namespace=NAMESPACE)
        assert helm_revision(control_plane, RELEASE, NAMESPACE) == 1

        # -- clean up like a cancel: the operator lifts its guard, the exit goes.
        as_operator(release, control_plane, tmp_path).patch_namespace(tenant, {"metadata": {
            "labels": {names.LABEL_EXIT: None, names.LABEL_DELETION: None},
            "annotations": {names.ANNOTATION_PHASE: None},
        }})
        custom.delete_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL, exit_name)
