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
from tenant_exit.kube import guards, volumes
from tenant_exit.kube.errors import tolerate

# The namespace controller's own spec finalizer: present until every object in
# the namespace is gone.
CONTENT_FINALIZER = "kubernetes"


@dataclass(frozen=True)
class DestructionSurvey:
    """The namespace and the volumes, read once per pass, by identity."""

    namespace_exists: bool
    """The namespace with the recorded UID still exists."""
    namespace_uid: str | None
    other_namespace_uid: str | None
    """A namespace of the tenant's name with another UID (never touched), if any."""
    contents_remaining: bool
    """The namespace controller has not finished removing objects inside it."""
    bound_volumes: tuple[volumes.TenantVolume, ...]
    """PVs bound to claims in our namespace now: what the deletion will destroy."""
    present_volumes: frozenset[str]
    """Recorded PVs that still exist, still claimed by the recorded claim UIDs."""


def survey(core: client.CoreV1Api, namespace: str, uid: str | None,
           claim_uids: list[str]) -> DestructionSurvey:
    present = frozenset(v.persistent_volume for v in volumes.recorded_volumes(core, claim_uids))
    with tolerate(404):
        ns = core.read_namespace(namespace)
        if uid is not None and ns.metadata.uid != uid:
            return DestructionSurvey(False, None, ns.metadata.uid, False, (), present)
        return DestructionSurvey(
            namespace_exists=True,
            namespace_uid=ns.metadata.uid,
            other_namespace_uid=None,
            contents_remaining=CONTENT_FINALIZER in (ns.spec.finalizers or []),
            bound_volumes=tuple(volumes.tenant_volumes(core, namespace)),
            present_volumes=present,
        )
    return DestructionSurvey(False, None, None, False, (), present)


def allow_deletion(core: client.CoreV1Api, namespace: str, uid: str) -> None:
    """Flip the guard label so the admission policy lets the DELETE through."""
    with tolerate(404):
        guards.patch_ours(core, namespace, uid,
                          {"metadata": {"labels": {names.LABEL_DELETION: names.DELETION_ALLOWED}}})


def release_volumes(core: client.CoreV1Api, claim_uids: list[str]) -> None:
    """Reclaim policy Delete on the recorded volumes, still claimed by the recorded
    claims (by UID: never a Released volume of an earlier namespace of that name)."""
    volumes.release(core, volumes.recorded_volumes(core, claim_uids))


def delete_namespace(core: client.CoreV1Api, namespace: str, uid: str) -> None:
    """DELETE with a UID precondition: a re-created namespace of the same name is
    refused by the API server (409), never deleted."""
    with tolerate(404, 409):
        core.delete_namespace(namespace, propagation_policy="Background",
                              body=client.V1DeleteOptions(
                                  preconditions=client.V1Preconditions(uid=uid)))


def release_namespace(core: client.CoreV1Api, namespace: str, uid: str) -> None:
    """Remove our finalizer: the (now empty) Namespace object disappears."""
    with tolerate(404):
        guards.patch_ours(core, namespace, uid, {
            "metadata": {"$deleteFromPrimitiveList/finalizers": [names.NAMESPACE_FINALIZER]}})
