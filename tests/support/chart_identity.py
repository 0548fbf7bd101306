"""The chart, installed for real, and its ServiceAccount as a kubeconfig.

- `installed_chart(...)`: `helm install` of charts/tenant-exit-operator into the
  local control plane, `helm uninstall` afterwards, plus removal of what the
  chart deliberately keeps (namespace guard) so the next test starts clean.
- `service_account_kubeconfig(...)`: a TokenRequest for the chart's
  ServiceAccount written as a kubeconfig. Whatever runs with it (kubectl, the
  operator as a process in the e2e run) has exactly the chart's RBAC — the
  proof of least privilege — and is the identity the namespace guard lets through.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tenant_exit.api.admission import EXIT_POLICY_NAME, POLICY_NAME
from tenant_exit.api.class_admission import POLICY_NAME as CLASS_POLICY_NAME
from tests.support.helm import CHART, NAMESPACE, RELEASE, helm, values_file

# The chart's admission policies have fixed names (one per cluster) and are kept on
# uninstall: the namespace guard, the TenantExit's terms guard and the class limits.
GUARD_NAMES = (POLICY_NAME, EXIT_POLICY_NAME, CLASS_POLICY_NAME)


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    service_account: str
    kubeconfig: Path  # the admin kubeconfig helm used

    @property
    def identity(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"


def install(
    kubeconfig: Path,
    values: dict[str, Any] | None = None,
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    action: str = "install",
    check: bool = True,
) -> Any:
    """`helm install|upgrade` (no --wait: pods need no node to prove the objects)."""
    with tempfile.TemporaryDirectory(prefix="values-") as tmp:
        args = [action, release, str(CHART), "--namespace", namespace]
        if action == "install":
            args.append("--create-namespace")
        if values:
            args += ["--values", str(values_file(values, Path(tmp)))]
        return helm(*args, kubeconfig=kubeconfig, check=check)


def remove_kept_guard(api: client.ApiClient) -> None:
    """The chart keeps its namespace guard on uninstall (resource-policy keep);
    tests remove it explicitly so the next install starts from nothing."""
    admission = client.AdmissionregistrationV1Api(api)
    for delete in (
        admission.delete_validating_admission_policy_binding,
        admission.delete_validating_admission_policy,
    ):
        for name in GUARD_NAMES:
            try:
                delete(name)
            except ApiException as error:
                if error.status != 404:
                    raise


def _read_guard(api: client.ApiClient) -> list[dict[str, Any]]:
    admission = client.AdmissionregistrationV1Api(api)
    found: list[dict[str, Any]] = []
    for read in (
        admission.read_validating_admission_policy,
        admission.read_validating_admission_policy_binding,
    ):
        for name in GUARD_NAMES:
            try:
                found.append(api.sanitize_for_serialization(read(name)))
            except ApiException as error:
                if error.status != 404:
                    raise
    return found


@contextmanager
def room_for_the_guard(api: client.ApiClient, release: str) -> Iterator[None]:
    """The guard's name is fixed (one per cluster). Another test may have applied
    it without Helm (crds/namespace-guard-policy.yaml), which would make `helm
    install` fail ('cannot be imported into the current release'): set that copy
    aside for the duration and put it back afterwards, unchanged."""
    kept = [
        d for d in _read_guard(api)
        if d["metadata"].get("annotations", {}).get("meta.helm.sh/release-name") != release
    ]
    if kept:
        remove_kept_guard(api)
    try:
        yield
    finally:
        if kept:
            remove_kept_guard(api)
            admission = client.AdmissionregistrationV1Api(api)
            for doc in kept:
                keep = ("name", "labels", "annotations")
                doc["metadata"] = {k: v for k, v in doc["metadata"].items() if k in keep}
                doc.pop("status", None)
                if doc["kind"] == "ValidatingAdmissionPolicy":
                    admission.create_validating_admission_policy(doc)
                else:
                    admission.create_validating_admission_policy_binding(doc)


@contextmanager
def installed_chart(
    kubeconfig: Path,
    api: client.ApiClient,
    values: dict[str, Any] | None = None,
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> Iterator[Release]:
    with room_for_the_guard(api, release):
        install(kubeconfig, values, release=release, namespace=namespace)
        manifest = helm("get", "manifest", release, "--namespace", namespace, kubeconfig=kubeconfig)
        accounts = [
            d["metadata"]["name"]
            for d in yaml.safe_load_all(manifest.stdout)
            if d and d["kind"] == "ServiceAccount"
        ]
        try:
            yield Release(release, namespace, accounts[0], kubeconfig)
        finally:
            helm("uninstall", release, "--namespace", namespace, kubeconfig=kubeconfig, check=False)
            remove_kept_guard(api)


def service_account_kubeconfig(
    admin_kubeconfig: Path,
    api: client.ApiClient,
    namespace: str,
    service_account: str,
    path: Path,
    expiration_seconds: int = 3600,
) -> Path:
    """A kubeconfig that authenticates as the ServiceAccount (TokenRequest API),
    pointing at the same server and CA as the admin kubeconfig."""
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=expiration_seconds)
    )
    token = client.CoreV1Api(api).create_namespaced_service_account_token(
        service_account, namespace, request
    ).status.token
    admin = yaml.safe_load(admin_kubeconfig.read_text())
    cluster = admin["clusters"][0]["cluster"]
    user = f"{namespace}:{service_account}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {"name": "sa", "context": {"cluster": "local", "user": user, "namespace": namespace}}
        ],
        "current-context": "sa",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path
