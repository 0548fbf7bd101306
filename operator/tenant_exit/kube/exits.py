"""Reading TenantExits and writing their status subresource."""

from __future__ import annotations

import threading
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


class Versions:
    """The resourceVersion of each exit (by UID) as this process last read or wrote it.

    kopf's body of an exit is its view from the watch, which can predate the status
    patch of the pass before (passes of one exit are sequential, but the watch event
    of a patch arrives after it). A body whose resourceVersion is the one this
    process last saw is current; any other one (or none known: a body from after
    a restart, before this process wrote anything) is read again. Versions are
    compared for equality only: the API makes no promise about their order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, str] = {}

    def current(self, exit: TenantExit) -> bool:
        """Nothing this process read or wrote is newer than `exit`."""
        with self._lock:
            seen = self._seen.get(exit.metadata.uid)
        return seen is None or seen == exit.metadata.resource_version

    def saw(self, uid: str, resource_version: str) -> None:
        if uid and resource_version:
            with self._lock:
                self._seen[uid] = resource_version

    def forget(self, uid: str) -> None:
        with self._lock:
            self._seen.pop(uid, None)


def patch_status(
    custom: client.CustomObjectsApi, exit: TenantExit, status: TenantExitStatus
) -> str:
    """Write the whole status we own (merge patch: lists like conditions are replaced;
    a field the new status no longer has is sent as null, which removes it).
    Returns the exit's resourceVersion after the patch."""
    old = exit.status.model_dump(mode="json", by_alias=True, exclude_none=True)
    new = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    body = {"status": merge_patch(old, new)}
    written = custom.patch_cluster_custom_object_status(
        names.GROUP, names.VERSION, names.PLURAL, exit.name, body
    )
    return str(((written or {}).get("metadata") or {}).get("resourceVersion", ""))


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
