"""Kubernetes side of the irreversible step: take stock of what will be
destroyed, let it go, and see that it is gone.

Order matters and every call is idempotent (the operator may be killed at any
point of Deleting and resumes): the inventory is taken while the namespace
still exists; the volumes are switched to Delete before the namespace delete
so the data goes with the claims; our Namespace finalizer is removed only when
the namespace controller has emptied the namespace and the volumes are gone,
so the certificate never claims more than was observed.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes import client

from tenant_exit.api import names
from tenant_exit.kube.errors import tolerate

DELETE = "Delete"
# The namespace controller's own spec finalizer: present until every object in
# the namespace is gone.
CONTENT_FINALIZER = "kubernetes"


@dataclass(frozen=True)
class VolumeTarget:
    persistent_volume: str
    claim: str
    """`namespace/claim`."""
    capacity: str | None


@dataclass(frozen=True)
class DestructionSurvey:
    """The namespace and the volumes, read once per pass."""

    namespace_exists: bool
    namespace_uid: str | None
    contents_remaining: bool
    """The namespace controller has not finished removing objects inside it."""
    bound_volumes: tuple[VolumeTarget, ...]
    """PVs bound to claims in the namespace: what the deletion will destroy."""
    present_volumes: frozenset[str]
    """Names of every PV that still exists."""


def survey(core: client.CoreV1Api, namespace: str) -> DestructionSurvey:
    pvs = core.list_persistent_volume().items
    bound = tuple(
        VolumeTarget(
            persistent_volume=pv.metadata.name,
            claim=f"{pv.spec.claim_ref.namespace}/{pv.spec.claim_ref.name}",
            capacity=(pv.spec.capacity or {}).get("storage"),
        )
        for pv in pvs
        if pv.spec.claim_ref is not None and pv.spec.claim_ref.namespace == namespace
    )
    present = frozenset(pv.metadata.name for pv in pvs)
    with tolerate(404):
        ns = core.read_namespace(namespace)
        return DestructionSurvey(
            namespace_exists=True,
            namespace_uid=ns.metadata.uid,
            contents_remaining=CONTENT_FINALIZER in (ns.spec.finalizers or []),
            bound_volumes=bound,
            present_volumes=present,
        )
    return DestructionSurvey(False, None, False, (), present)


def allow_deletion(core: client.CoreV1Api, namespace: str) -> None:
    """Flip the guard label so the admission policy lets the DELETE through."""
    with tolerate(404):
        core.patch_namespace(
            namespace,
            {"metadata": {"labels": {names.LABEL_DELETION: names.DELETION_ALLOWED}}},
        )


def release_volumes(core: client.CoreV1Api, volume_names: list[str]) -> None:
    """Reclaim policy Delete on every tenant volume: once its claim is deleted with
    the namespace, the volume and its data go too (whatever the policy was before
    the exit — the certificate promises the data is gone)."""
    for name in volume_names:
        with tolerate(404):
            core.patch_persistent_volume(
                name,
                {
                    "metadata": {"annotations": {names.ANNOTATION_ORIGINAL_RECLAIM: None}},
                    "spec": {"persistentVolumeReclaimPolicy": DELETE},
                },
            )


def delete_namespace(core: client.CoreV1Api, namespace: str) -> None:
    with tolerate(404, 409):
        core.delete_namespace(namespace, propagation_policy="Background")


def release_namespace(core: client.CoreV1Api, namespace: str) -> None:
    """Remove our finalizer: the (now empty) Namespace object disappears."""
    with tolerate(404):
        core.patch_namespace(
            namespace,
            {"metadata": {"$deleteFromPrimitiveList/finalizers": [names.NAMESPACE_FINALIZER]}},
        )
