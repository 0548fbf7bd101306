"""Reading TenantExits and writing their status subresource."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import TenantExitStatus
from tenant_exit.kube.errors import tolerate


def list_exits(custom: client.CustomObjectsApi) -> list[dict[str, Any]]:
    listing = custom.list_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL)
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
    """Write the whole status we own (merge patch: lists like conditions are replaced)."""
    body = {"status": status.model_dump(mode="json", by_alias=True, exclude_none=True)}
    custom.patch_cluster_custom_object_status(
        names.GROUP, names.VERSION, names.PLURAL, exit.name, body
    )
