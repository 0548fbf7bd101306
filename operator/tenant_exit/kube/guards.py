"""The guards on a tenant Namespace (docs/architecture.md, "The guards").

A finalizer on a Namespace does not stop the namespace controller from deleting
everything inside it; it only keeps the Namespace object. Hence three layers:
the finalizer, the labels the admission policy reads to deny the DELETE, and
Retain on the volumes so even a forced deletion leaves the data on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubernetes import client

from tenant_exit.api import names
from tenant_exit.kube import volumes
from tenant_exit.kube.errors import tolerate


@dataclass(frozen=True)
class NamespaceGuards:
    """The guard-relevant part of a Namespace as it is now."""

    name: str
    uid: str
    terminating: bool
    exit: str | None
    deletion: str | None
    phase: str | None
    has_finalizer: bool
    volumes: tuple[volumes.TenantVolume, ...]
    """PVs bound to claims that exist in the namespace now (by claim UID)."""


def read_guards(core: client.CoreV1Api, namespace: str) -> NamespaceGuards | None:
    with tolerate(404):
        ns = core.read_namespace(namespace)
        labels = ns.metadata.labels or {}
        annotations = ns.metadata.annotations or {}
        return NamespaceGuards(
            name=namespace,
            uid=ns.metadata.uid,
            terminating=ns.metadata.deletion_timestamp is not None,
            exit=labels.get(names.LABEL_EXIT),
            deletion=labels.get(names.LABEL_DELETION),
            phase=annotations.get(names.ANNOTATION_PHASE),
            has_finalizer=names.NAMESPACE_FINALIZER in (ns.metadata.finalizers or []),
            volumes=tuple(volumes.tenant_volumes(core, namespace)),
        )
    return None


class NotOurNamespace(Exception):
    """The namespace of the tenant's name now has another UID: it is not ours to touch."""


def ours(core: client.CoreV1Api, namespace: str, uid: str) -> bool:
    """The live namespace has the recorded UID (False when it is gone or another one)."""
    with tolerate(404):
        return bool(core.read_namespace(namespace).metadata.uid == uid)
    return False


def patch_ours(core: client.CoreV1Api, namespace: str, uid: str, body: dict[str, Any]) -> None:
    """Patch the namespace only if it is the one with `uid`. The UID in the patch is
    the API server's own check (409/422 for another object of the same name), so a
    namespace re-created between our read and our write is refused, not changed."""
    body.setdefault("metadata", {})["uid"] = uid
    core.patch_namespace(namespace, body)


def apply_guards(core: client.CoreV1Api, namespace: str, uid: str, exit_name: str,
                 phase: str) -> None:
    """Finalizer, labels and phase annotation on the Namespace; Retain on its PVs.

    Volumes first: if we are killed half-way, the data is already safe."""
    if not ours(core, namespace, uid):
        raise NotOurNamespace(f"namespace {namespace} no longer has UID {uid}")
    volumes.retain(core, volumes.tenant_volumes(core, namespace))
    # A strategic merge patch: metadata.finalizers has patchStrategy=merge, so this
    # adds ours without replacing (or racing with) anyone else's.
    patch_ours(core, namespace, uid, {
        "metadata": {
            "finalizers": [names.NAMESPACE_FINALIZER],
            "labels": {
                names.LABEL_EXIT: exit_name,
                names.LABEL_DELETION: names.DELETION_BLOCKED,
            },
            "annotations": {names.ANNOTATION_PHASE: phase},
        }
    })


def remove_guards(core: client.CoreV1Api, namespace: str, uid: str | None, exit_name: str,
                  claim_uids: list[str]) -> list[str]:
    """Undo apply_guards, only on the namespace with `uid` and only if this exit holds
    it. Returns the volumes kept at Retain because their claim is gone (see
    volumes.restore); the recorded claims' volumes are restored even when the
    namespace itself is gone or replaced."""
    known = volumes.recorded_volumes(core, claim_uids)
    with tolerate(404):
        ns = core.read_namespace(namespace)
        mine = uid is None or ns.metadata.uid == uid
        if mine and (ns.metadata.labels or {}).get(names.LABEL_EXIT) in (exit_name, None):
            live = volumes.tenant_volumes(core, namespace)
            seen = {v.persistent_volume for v in known}
            known += [v for v in live if v.persistent_volume not in seen]
            kept = volumes.restore(core, known)
            patch_ours(core, namespace, ns.metadata.uid, {
                "metadata": {
                    "$deleteFromPrimitiveList/finalizers": [names.NAMESPACE_FINALIZER],
                    "labels": {names.LABEL_EXIT: None, names.LABEL_DELETION: None},
                    "annotations": {names.ANNOTATION_PHASE: None},
                }
            })
            return kept
    return volumes.restore(core, known)
