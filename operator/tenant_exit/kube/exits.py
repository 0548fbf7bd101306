"""Reading TenantExits and writing their status subresource."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import TenantExitStatus
from tenant_exit.kube.errors import tolerate


def list_exits(custom: client.CustomObjectsApi) -> list[dict[str, Any]]:
    listing = custom.list_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL)
    items: list[dict[str, Any]] = listing.get("items", [])
    return items


def exits_for_namespace(custom: client.CustomObjectsApi, namespace: str) -> list[dict[str, Any]]:
    """The TenantExits whose spec.tenantNamespace is `namespace`: a consistent list,
    filtered by the API server on the CRD's selectable field. A server that does not
    filter on it (Kubernetes 1.30 without the CustomResourceFieldSelectors gate
    answers 400) gets the full list, filtered here."""
    try:
        listing = custom.list_cluster_custom_object(
            names.GROUP, names.VERSION, names.PLURAL,
            field_selector=f"spec.tenantNamespace={namespace}")
    except ApiException as error:
        if error.status != 400:
            raise
        return [body for body in list_exits(custom)
                if (body.get("spec") or {}).get("tenantNamespace") == namespace]
    items: list[dict[str, Any]] = listing.get("items", [])
    return items


def read_exit(custom: client.CustomObjectsApi, name: str) -> TenantExit | None:
    """The latest stored TenantExit, or None when it is gone."""
    with tolerate(404):
        body = custom.get_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL, name)
        return TenantExit.from_body(body)
    return None


def patch_status(
    custom: client.CustomObjectsApi, exit: TenantExit, status: TenantExitStatus
) -> None:
    """Write the whole status we own (merge patch: lists like conditions are replaced;
    a field the new status no longer has is sent as null, which removes it)."""
    old = exit.status.model_dump(mode="json", by_alias=True, exclude_none=True)
    new = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    body = {"status": merge_patch(old, new)}
    custom.patch_cluster_custom_object_status(
        names.GROUP, names.VERSION, names.PLURAL, exit.name, body
    )


def merge_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386 patch turning `old` into `new` for nested objects (pure)."""
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            patch[key] = merge_patch(before, value)
        else:
            patch[key] = value
    return patch
