"""The chart's ServiceAccount, authenticated with a real token, may do what its
ClusterRole says and nothing more — asked of the API server's authorizer, as
`kubectl auth can-i` does. The same kubeconfig runs the operator in the e2e
least-privilege exit (tests/support/chart_identity.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.localcluster.controlplane import ControlPlane
from tests.support.api_usage import Permission, granted, operator_needs
from tests.support.chart_identity import Release, installed_chart, service_account_kubeconfig

pytestmark = pytest.mark.cluster

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
# Things an exit operator must never be able to do, whatever its rules say.
NEVER = [
    Permission("", "pods", "create"),
    Permission("", "pods/exec", "create"),
    Permission("", "nodes", "get"),
    Permission("", "serviceaccounts/token", "create"),
    Permission("rbac.authorization.k8s.io", "clusterrolebindings", "create"),
    Permission("rbac.authorization.k8s.io", "clusterroles", "escalate"),
    Permission("", "users", "impersonate"),
    Permission("admissionregistration.k8s.io", "validatingadmissionpolicies", "delete"),
    Permission("admissionregistration.k8s.io", "validatingadmissionpolicybindings", "update"),
    Permission("apiextensions.k8s.io", "customresourcedefinitions", "delete"),
    Permission("tenantexit.io", "tenantexits", "delete"),
    Permission("tenantexit.io", "tenantexits", "create"),
]


@pytest.fixture(scope="module")
def release(control_plane: ControlPlane) -> Iterator[Release]:
    with installed_chart(
        control_plane.kubeconfig, control_plane.api_client(),
        release="texit-rbac", namespace="texit-rbac-system",
    ) as installed:
        yield installed


@pytest.fixture(scope="module")
def operator_kubeconfig(
    control_plane: ControlPlane, release: Release, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return service_account_kubeconfig(
        control_plane.kubeconfig, control_plane.api_client(), release.namespace,
        release.service_account, tmp_path_factory.mktemp("sa") / "operator.kubeconfig",
    )


def can_i(kubeconfig: Path, permission: Permission) -> bool:
    """A SelfSubjectAccessReview in every namespace: what `kubectl auth can-i -A` asks."""
    api = client.AuthorizationV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    resource, _, subresource = permission.resource.partition("/")
    review = api.create_self_subject_access_review(client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                group=permission.group, resource=resource, subresource=subresource or None,
                verb=permission.verb, namespace="",
            )
        )
    ))
    return bool(review.status.allowed)


def test_the_token_is_the_chart_service_account(
    control_plane: ControlPlane, release: Release, operator_kubeconfig: Path
) -> None:
    who = control_plane.kubectl(
        f"--kubeconfig={operator_kubeconfig}", "auth", "whoami",
        "-o", "jsonpath={.status.userInfo.username}",
    )
    assert who.stdout == release.identity


def test_it_can_do_everything_the_operator_calls(operator_kubeconfig: Path) -> None:
    denied = [str(p) for p in operator_needs() if not can_i(operator_kubeconfig, p)]
    assert not denied, f"the chart's identity may not: {denied}"


def test_it_can_do_nothing_else_on_the_resources_it_touches(
    control_plane: ControlPlane, release: Release, operator_kubeconfig: Path
) -> None:
    rules = client.RbacAuthorizationV1Api(control_plane.api_client()).read_cluster_role(
        f"{release.name}-tenant-exit-operator"
    ).rules
    allowed = granted([
        {"apiGroups": r.api_groups, "resources": r.resources, "verbs": r.verbs} for r in rules
    ])
    resources = {(p.group, p.resource) for p in allowed}
    extra = [
        str(Permission(group, resource, verb))
        for group, resource in sorted(resources)
        for verb in VERBS
        if Permission(group, resource, verb) not in allowed
        and can_i(operator_kubeconfig, Permission(group, resource, verb))
    ]
    assert not extra, f"the chart's identity may do more than its ClusterRole says: {extra}"


@pytest.mark.parametrize("permission", NEVER, ids=str)
def test_it_cannot_escalate_or_undo_the_guards(
    operator_kubeconfig: Path, permission: Permission
) -> None:
    assert not can_i(operator_kubeconfig, permission)


def test_kubectl_auth_can_i_agrees(control_plane: ControlPlane, operator_kubeconfig: Path) -> None:
    def ask(*args: str) -> str:
        result = control_plane.kubectl(
            f"--kubeconfig={operator_kubeconfig}", "auth", "can-i", *args, check=False
        )
        return result.stdout.strip()

    assert ask("patch", "namespaces") == "yes"
    assert ask("create", "jobs.batch", "-n", "any-tenant") == "yes"
    assert ask("get", "secrets", "-n", "any-tenant") == "yes"
    assert ask("list", "secrets", "-n", "any-tenant") == "no"
    assert ask("get", "pods", "-n", "any-tenant") == "no"
    assert ask("update", "namespaces") == "no"
