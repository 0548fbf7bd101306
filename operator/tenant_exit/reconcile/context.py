"""The API clients and settings one pass works with."""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes import client, config

from tenant_exit.settings import OperatorSettings


@dataclass(frozen=True)
class Context:
    core: client.CoreV1Api
    batch: client.BatchV1Api
    custom: client.CustomObjectsApi
    settings: OperatorSettings

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
