"""The guards on a tenant Namespace (docs/architecture.md, "The guards").

A finalizer on a Namespace does not stop the namespace controller from deleting
everything inside it; it only keeps the Namespace object. Hence three layers:
the finalizer, the labels the admission policy reads to deny the DELETE, and
Retain on the volumes so even a forced deletion leaves the data on disk.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes import client

from tenant_exit.api import names
from tenant_exit.kube import volumes
from tenant_exit.kube.errors import tolerate


@dataclass(frozen=True)
class NamespaceGuards:
    """The guard-relevant part of a Namespace as it is now."""

    name: str
    terminating: bool
    exit: str | None
    deletion: str | None
    phase: str | None
    has_finalizer: bool
    unretained_volumes: tuple[str, ...]


def read_guards(core: client.CoreV1Api, namespace: str) -> NamespaceGuards | None:
    with tolerate(404):
        ns = core.read_namespace(namespace)
        labels = ns.metadata.labels or {}
        annotations = ns.metadata.annotations or {}
        return NamespaceGuards(
            name=namespace,
            terminating=ns.metadata.deletion_timestamp is not None,
            exit=labels.get(names.LABEL_EXIT),
            deletion=labels.get(names.LABEL_DELETION),
            phase=annotations.get(names.ANNOTATION_PHASE),
            has_finalizer=names.NAMESPACE_FINALIZER in (ns.metadata.finalizers or []),
            unretained_volumes=tuple(volumes.unretained(core, namespace)),
        )
    return None


def apply_guards(core: client.CoreV1Api, namespace: str, exit_name: str, phase: str) -> None:
    """Finalizer, labels and phase annotation on the Namespace; Retain on its PVs.

    Volumes first: if we are killed half-way, the data is already safe."""
    volumes.retain_all(core, namespace)
    # A strategic merge patch: metadata.finalizers has patchStrategy=merge, so this
    # adds ours without replacing (or racing with) anyone else's.
    core.patch_namespace(
        namespace,
        {
            "metadata": {
                "finalizers": [names.NAMESPACE_FINALIZER],
                "labels": {
                    names.LABEL_EXIT: exit_name,
                    names.LABEL_DELETION: names.DELETION_BLOCKED,
                },
                "annotations": {names.ANNOTATION_PHASE: phase},
            }
        },
    )


def remove_guards(core: client.CoreV1Api, namespace: str, exit_name: str) -> None:
    """Undo apply_guards, only if this exit holds the namespace."""
    with tolerate(404):
        ns = core.read_namespace(namespace)
        if (ns.metadata.labels or {}).get(names.LABEL_EXIT) not in (exit_name, None):
            return
        volumes.restore_all(core, namespace)
        core.patch_namespace(
            namespace,
            {
                "metadata": {
                    "$deleteFromPrimitiveList/finalizers": [names.NAMESPACE_FINALIZER],
                    "labels": {names.LABEL_EXIT: None, names.LABEL_DELETION: None},
                    "annotations": {names.ANNOTATION_PHASE: None},
                }
            },
        )
