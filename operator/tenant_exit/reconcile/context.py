"""The API clients and settings one pass works with."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from kubernetes import client, config

from tenant_exit.api.policy import ExitPolicy, allowed_credential_namespaces
from tenant_exit.kube.cache import ClusterCache
from tenant_exit.kube.exits import Versions
from tenant_exit.settings import OperatorSettings


@dataclass(frozen=True)
class Context:
    core: client.CoreV1Api
    batch: client.BatchV1Api
    custom: client.CustomObjectsApi
    settings: OperatorSettings
    policy: ExitPolicy | None = None
    """The class terms of the exit this pass is about (status.policy)."""
    cache: ClusterCache | None = None
    """Watched namespaces, claims and volumes (operator process only): lets a pass
    that has nothing to do skip its reads (reconcile/passes.py)."""
    versions: Versions = field(default_factory=Versions)
    """Which kopf bodies are current (kube/exits.py)."""

    def for_exit(self, policy: ExitPolicy | None) -> Context:
        return replace(self, policy=policy)

    def credential_namespaces(self) -> tuple[str, ...]:
        """Where S3 credentials may be copied from: the operator's list, narrowed by
        the exit's class (a class never widens it)."""
        return allowed_credential_namespaces(self.policy,
                                             self.settings.allowed_credential_namespaces())

    def download_link_seconds(self) -> int:
        """The class's link lifetime, else the operator's."""
        lifetime = self.policy.link_lifetime if self.policy else None
        return int(lifetime.total_seconds()) if lifetime else self.settings.download_link_seconds

    def watching(self, wait_seconds: float) -> Context:
        """This context with the watch cache started, on its own connection pool."""
        cache = ClusterCache(client.CoreV1Api(client.ApiClient()))
        return replace(self, cache=cache.start(wait_seconds))

    @classmethod
    def connect(cls, settings: OperatorSettings) -> Context:
        """In-cluster ServiceAccount if there is one, else $KUBECONFIG / ~/.kube/config."""
        try:
            config.load_incluster_config()
        except config.ConfigException:
            config.load_kube_config()
        api = client.ApiClient()
        return cls(
            core=client.CoreV1Api(api),
            batch=client.BatchV1Api(api),
            custom=client.CustomObjectsApi(api),
            settings=settings,
        )
