"""What `helm template` of the chart produces: the objects a platform engineer
gets, their security settings, and refusals of bad values by values.schema.json."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tenant_exit.api import crd, names
from tests.support.helm import CHART, REPO, one, render, template_error


@pytest.fixture(scope="module")
def default() -> list[dict[str, Any]]:
    return render()


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = one(docs, "StatefulSet")["spec"]["template"]["spec"][
        "containers"
    ]
    (c,) = containers
    return c


def env(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(docs)["env"]}


def test_default_install_has_every_piece(default: list[dict[str, Any]]) -> None:
    kinds = sorted(d["kind"] for d in default)
    assert kinds == sorted([
        "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service", "Service",
        "StatefulSet", "ClusterKopfPeering",
        # the namespace guard and the TenantExit terms guard (issue 10)
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
        # the TenantExitClass limits (issue 16)
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    ])
    (peers,) = [d for d in default
                if d["kind"] == "Service" and d["spec"].get("clusterIP") == "None"]
    assert one(default, "StatefulSet")["spec"]["serviceName"] == peers["metadata"]["name"]


def test_pod_meets_the_restricted_pod_security_standard(default: list[dict[str, Any]]) -> None:
    pod = one(default, "StatefulSet")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container(default)["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["runAsNonRoot"] is True
    assert not pod.get("hostNetwork") and not pod.get("hostPID")
    assert all("hostPath" not in v for v in pod["volumes"])


def test_probes_call_the_liveness_endpoint_and_resources_are_set(
    default: list[dict[str, Any]],
) -> None:
    c = container(default)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "health"}, probe
    assert ports["health"] == 8080
    assert env(default)["TENANT_EXIT_LIVENESS_PORT"] == "8080"
    assert c["resources"]["requests"]["memory"] and c["resources"]["limits"]["memory"]
    assert c["args"] == ["operator"]


METRICS = {"metrics": {"enabled": True}}


def test_metrics_are_on_by_default_and_the_service_targets_the_port(
    default: list[dict[str, Any]],
) -> None:
    docs = default
    (service,) = [d for d in docs if d["metadata"]["name"].endswith("-metrics")]
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]
    selector = service["spec"]["selector"]
    pod_labels = one(docs, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    assert env(docs)["TENANT_EXIT_METRICS_PORT"] == "9090"
    assert "metrics" in {p["name"] for p in container(docs)["ports"]}


def test_metrics_disabled_removes_service_and_port() -> None:
    docs = render({"metrics": {"enabled": False}})
    assert not [d for d in docs if d["metadata"]["name"].endswith("-metrics")]
    assert "metrics" not in {p["name"] for p in container(docs)["ports"]}
    assert "TENANT_EXIT_METRICS_PORT" not in env(docs)


def test_service_monitor_and_network_policy_are_optional(default: list[dict[str, Any]]) -> None:
    assert not [d for d in default if d["kind"] in ("ServiceMonitor", "NetworkPolicy")]
    docs = render({
        "metrics": {"enabled": True,
                    "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}},
        "networkPolicy": {
            "enabled": True,
            "metricsFrom": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}],
            "egress": [{"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}]}],
        },
    })
    monitor = one(docs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    policy = one(docs, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    (source,) = policy["ingress"][0]["from"]
    assert source["namespaceSelector"]["matchLabels"]["name"] == "monitoring"
    assert {"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}]} in policy["egress"]


def test_network_policy_without_egress_rules_leaves_egress_open() -> None:
    policy = one(render({**METRICS, "networkPolicy": {"enabled": True}}), "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress"]


def test_backup_network_policy_is_off_by_default_and_one_per_tenant_namespace(
    default: list[dict[str, Any]],
) -> None:
    assert not [d for d in default if d["kind"] == "NetworkPolicy"]
    egress = [{"to": [{"ipBlock": {"cidr": "192.0.2.10/32"}}], "ports": [{"port": 3306}]}]
    docs = render({"backupNetworkPolicy": {
        "enabled": True, "namespaces": ["tenant-a", "tenant-b"], "egress": egress}})
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    assert sorted(p["metadata"]["namespace"] for p in policies) == ["tenant-a", "tenant-b"]
    for policy in policies:
        spec = policy["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        assert spec["ingress"] == []
        assert egress[0] in spec["egress"]
        assert {"port": 53, "protocol": "UDP"} in spec["egress"][0]["ports"]


def test_backup_network_policy_selects_the_pods_of_the_backup_job() -> None:
    """The selector must match the labels the operator puts on the Job's pods."""
    from tenant_exit.kube.jobs import BackupTerms, build_backup_job
    from tenant_exit.settings import OperatorSettings
    from tests.support.exits import make_exit

    exit = make_exit()
    assert exit.spec.destination is not None
    terms = BackupTerms(exit.spec.tenant_namespace, exit.spec.database, exit.spec.documents,
                        exit.spec.destination)
    job = build_backup_job(exit.owner, terms, 1, OperatorSettings())
    pod_labels = job.spec.template.metadata.labels
    docs = render({"backupNetworkPolicy": {"enabled": True, "namespaces": ["tenant-a"],
                                           "egress": []}})
    selector = one(docs, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()


def test_operator_identity_and_peering_are_templated() -> None:
    docs = render(release="exits", namespace="ops")
    sa = one(docs, "ServiceAccount")["metadata"]
    assert (sa["name"], sa["namespace"]) == ("exits-tenant-exit-operator", "ops")
    subject = one(docs, "ClusterRoleBinding")["subjects"][0]
    assert subject == {"kind": "ServiceAccount", "name": sa["name"], "namespace": "ops"}
    assert one(docs, "StatefulSet")["spec"]["template"]["spec"]["serviceAccountName"] == sa["name"]
    identity = "system:serviceaccount:ops:exits-tenant-exit-operator"
    # The class limits let nobody through: the operator never edits an exit's spec.
    for policy in (d for d in docs if d["kind"] == "ValidatingAdmissionPolicy"
                   and "paramKind" not in d["spec"]):
        guard = policy["spec"]["matchConditions"]
        assert f"request.userInfo.username != '{identity}'" in [m["expression"] for m in guard]
    peering = one(docs, "ClusterKopfPeering")["metadata"]["name"]
    variables = env(docs)
    assert variables["TENANT_EXIT_PEERING_NAME"] == peering
    assert variables["POD_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def test_replicas_get_distinct_peering_priorities() -> None:
    """kopf pauses every replica when two share a priority: the pod index is unique."""
    docs = render({"replicaCount": 2})
    workload = one(docs, "StatefulSet")["spec"]
    assert workload["replicas"] == 2
    assert env(docs)["TENANT_EXIT_PRIORITY"] == {
        "fieldRef": {"fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}
    }
    assert workload["updateStrategy"] == {"type": "RollingUpdate"}


def test_every_operator_setting_the_chart_sets_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    """A TENANT_EXIT_* variable the operator does not read is a silent misconfiguration."""
    from tenant_exit.settings import OperatorSettings

    docs = render({**METRICS, "operator": {"credentialNamespaces": ["vault-copies"]}})
    fields = {f"TENANT_EXIT_{name.upper()}" for name in OperatorSettings.model_fields}
    ours = {name for name in env(docs) if name.startswith("TENANT_EXIT_")}
    assert "TENANT_EXIT_METRICS_PORT" in ours
    assert ours <= fields, ours - fields
    # Read them the way the operator does: from its environment.
    for name, value in env(docs).items():
        if name in fields and isinstance(value, str):
            monkeypatch.setenv(name, value)
    settings = OperatorSettings()
    assert settings.credential_namespaces == ["vault-copies"]
    assert settings.metrics_port == 9090
    assert settings.worker_user == one(docs, "StatefulSet")["spec"]["template"]["spec"][
        "securityContext"]["runAsUser"]


def test_default_identity_is_the_one_the_shipped_policy_names(
    default: list[dict[str, Any]],
) -> None:
    from tenant_exit.api.admission import DEFAULT_OPERATOR_USER

    sa = one(default, "ServiceAccount")["metadata"]
    assert f"system:serviceaccount:{sa['namespace']}:{sa['name']}" == DEFAULT_OPERATOR_USER


def test_image_defaults_to_app_version_and_digest_wins() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert container(render())["image"] == f"tenant-exit-operator:{chart['appVersion']}"
    digest = "sha256:" + "a" * 64
    docs = render({"image": {"repository": "registry.example/te", "digest": digest}})
    assert container(docs)["image"] == f"registry.example/te@{digest}"
    assert env(docs)["TENANT_EXIT_WORKER_IMAGE"] == f"registry.example/te@{digest}"


def test_chart_crds_are_the_generated_ones() -> None:
    """Helm installs crds/ of the chart; they must be the CRDs `make crd` generates."""
    for source in crd.RESOURCES:
        generated = (REPO / "crds" / source.file_name).read_text()
        assert (CHART / "crds" / source.file_name).read_text() == generated, (
            f"the chart's {source.file_name} is stale: `make crd` copies it into the chart"
        )
    docs = render(include_crds=True)
    crd_names = {d["metadata"]["name"] for d in docs if d["kind"] == "CustomResourceDefinition"}
    assert names.CRD_NAME in crd_names
    assert crd_names == {s.name for s in crd.RESOURCES} | {"clusterkopfpeerings.kopf.dev"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"replicaCount": 3}, "/replicaCount"),
        ({"podSecurityContext": {"runAsNonRoot": False, "runAsUser": 65532,
                                 "seccompProfile": {"type": "RuntimeDefault"}}},
         "/podSecurityContext/runAsNonRoot"),
        ({"podSecurityContext": {"runAsNonRoot": True, "runAsUser": 0,
                                 "seccompProfile": {"type": "RuntimeDefault"}}},
         "/podSecurityContext/runAsUser"),
        ({"image": {"repository": "x", "digest": "latest"}}, "/image/digest"),
        ({"metrcs": {"enabled": True}}, "'metrcs' not allowed"),
        ({"health": {"port": 70000}}, "/health/port"),
        # kopf serves only /healthz: a path value could only break the probes.
        ({"health": {"port": 8080, "path": "/live"}}, "'path' not allowed"),
        ({"backupNetworkPolicy": {"enabled": True, "namespaces": ["Tenant_A"], "egress": []}},
         "/backupNetworkPolicy/namespaces/0"),
        ({"operator": {"logFormat": "xml"}}, "/operator/logFormat"),
        ({"resources": {"limits": {"memory": "lots"}}}, "/resources/limits/memory"),
    ],
)
def test_schema_refuses_bad_values_naming_the_key(values: dict[str, Any], message: str) -> None:
    stderr = template_error(values)
    assert "values don't meet the specifications of the schema" in stderr
    assert message in stderr
