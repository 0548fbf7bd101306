"""The app flag: a ConfigMap key the tenant's applications read to go read-only.

The key's value before the exit is kept in an annotation on the ConfigMap, so a
cancel puts back exactly what was there (or removes a key that was absent)."""

from __future__ import annotations

import json

from kubernetes import client
from kubernetes.client import models as k

from tenant_exit.api import names
from tenant_exit.api.spec import AppFlag
from tenant_exit.kube.errors import tolerate


def read_flag(core: client.CoreV1Api, namespace: str, flag: AppFlag) -> str | None:
    with tolerate(404):
        cm = core.read_namespaced_config_map(flag.config_map, namespace)
        value: str | None = (cm.data or {}).get(flag.key)
        return value
    return None


def set_flag(core: client.CoreV1Api, namespace: str, flag: AppFlag) -> None:
    try:
        cm = core.read_namespaced_config_map(flag.config_map, namespace)
    except client.ApiException as error:
        if error.status != 404:
            raise
        original = {"key": flag.key, "value": None, "created": True}
        body = k.V1ConfigMap(
            metadata=k.V1ObjectMeta(
                name=flag.config_map,
                namespace=namespace,
                annotations={names.ANNOTATION_ORIGINAL_APP_FLAG: json.dumps(original)},
            ),
            data={flag.key: flag.value},
        )
        with tolerate(409):
            core.create_namespaced_config_map(namespace, body)
            return
        cm = core.read_namespaced_config_map(flag.config_map, namespace)
    annotations = cm.metadata.annotations or {}
    patch: dict[str, object] = {"data": {flag.key: flag.value}}
    if names.ANNOTATION_ORIGINAL_APP_FLAG not in annotations:
        original = {"key": flag.key, "value": (cm.data or {}).get(flag.key), "created": False}
        patch["metadata"] = {
            "annotations": {names.ANNOTATION_ORIGINAL_APP_FLAG: json.dumps(original)}
        }
    core.patch_namespaced_config_map(flag.config_map, namespace, patch)


def reset_flag(core: client.CoreV1Api, namespace: str, flag: AppFlag) -> None:
    with tolerate(404):
        cm = core.read_namespaced_config_map(flag.config_map, namespace)
        remembered = (cm.metadata.annotations or {}).get(names.ANNOTATION_ORIGINAL_APP_FLAG)
        if remembered is None:
            return
        original = json.loads(remembered)
        if original.get("created"):
            core.delete_namespaced_config_map(flag.config_map, namespace)
            return
        core.patch_namespaced_config_map(
            flag.config_map,
            namespace,
            {
                "data": {original["key"]: original["value"]},
                "metadata": {"annotations": {names.ANNOTATION_ORIGINAL_APP_FLAG: None}},
            },
        )
