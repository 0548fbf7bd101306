"""The PersistentVolumes of a tenant, chosen by claim UID, never by namespace name.

A PV's `claimRef` names a namespace and a claim, and keeps naming them after the
claim is gone (Released). A namespace deleted and re-created under the same name
therefore "owns", by name, the Released volumes of its predecessor. So a volume
is the tenant's only while its claimRef carries the UID of a claim that exists
in the tenant's namespace now (`tenant_volumes`), or of a claim recorded in status
while it was bound (`recorded_volumes`). Every patch carries the resourceVersion
of the PV we checked, so a PV rebound in between is refused (409), not changed.

Every bound PV is switched to Retain, not only the document claims: the
database's volume is tenant data too, and a claim added later is caught by the
next pass. The original policy is kept in an annotation on the PV itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client import models as k

from tenant_exit.api import names
from tenant_exit.kube.errors import tolerate

RETAIN = "Retain"
DELETE = "Delete"
BOUND = "Bound"


@dataclass(frozen=True)
class TenantVolume:
    persistent_volume: str
    claim: str
    """`namespace/claim`."""
    claim_uid: str
    capacity: str | None
    reclaim_policy: str | None
    phase: str | None
    """Bound, Released, Available or Failed."""
    original_policy: str | None
    """The policy before the exit switched it to Retain (annotation), if any."""
    resource_version: str


def _volume(pv: k.V1PersistentVolume) -> TenantVolume:
    ref = pv.spec.claim_ref
    return TenantVolume(
        persistent_volume=pv.metadata.name,
        claim=f"{ref.namespace}/{ref.name}",
        claim_uid=ref.uid or "",
        capacity=(pv.spec.capacity or {}).get("storage"),
        reclaim_policy=pv.spec.persistent_volume_reclaim_policy,
        phase=pv.status.phase if pv.status else None,
        original_policy=(pv.metadata.annotations or {}).get(names.ANNOTATION_ORIGINAL_RECLAIM),
        resource_version=pv.metadata.resource_version,
    )


def volume_from_raw(pv: dict[str, Any]) -> tuple[str, TenantVolume] | None:
    """`_volume` of a PV as the API's JSON (the watch cache keeps these): (the
    claimRef's namespace, the volume), or None for a PV no claim UID refers to."""
    spec, meta = pv.get("spec") or {}, pv["metadata"]
    ref = spec.get("claimRef") or {}
    if not ref.get("uid"):
        return None
    return ref.get("namespace", ""), TenantVolume(
        persistent_volume=meta["name"],
        claim=f"{ref.get('namespace')}/{ref.get('name')}",
        claim_uid=ref["uid"],
        capacity=(spec.get("capacity") or {}).get("storage"),
        reclaim_policy=spec.get("persistentVolumeReclaimPolicy"),
        phase=(pv.get("status") or {}).get("phase"),
        original_policy=(meta.get("annotations") or {}).get(names.ANNOTATION_ORIGINAL_RECLAIM),
        resource_version=meta["resourceVersion"],
    )


def _claimed(core: client.CoreV1Api) -> list[k.V1PersistentVolume]:
    return [pv for pv in core.list_persistent_volume().items
            if pv.spec.claim_ref is not None and pv.spec.claim_ref.uid]


def tenant_volumes(core: client.CoreV1Api, namespace: str) -> list[TenantVolume]:
    """PVs bound to a claim that exists in `namespace` now, matched by the claim's UID.

    Each claim's PV is read by the claim's spec.volumeName, then kept only if its
    claimRef carries that claim's UID. Every pass of every exit runs this, and a
    list of all PVs made it O(PVs in the cluster) per pass (issue 15). A PV whose
    claimRef the PV controller has set but whose claim does not name it yet (the
    two halves of a binding) is found by the next pass, like a claim created
    just after this one."""
    found = []
    for claim in core.list_namespaced_persistent_volume_claim(namespace).items:
        name = claim.spec.volume_name if claim.spec else None
        if not name:
            continue
        with tolerate(404):
            pv = core.read_persistent_volume(name)
            ref = pv.spec.claim_ref
            if (ref is not None and ref.uid == claim.metadata.uid
                    and ref.namespace == namespace):
                found.append(_volume(pv))
    return sorted(found, key=lambda v: v.persistent_volume)  # a list's order, by name


def recorded_volumes(core: client.CoreV1Api, claim_uids: Iterable[str]) -> list[TenantVolume]:
    """PVs whose claimRef still carries one of the recorded claim UIDs."""
    wanted = set(claim_uids)
    return [_volume(pv) for pv in _claimed(core) if pv.spec.claim_ref.uid in wanted]


def _patch(core: client.CoreV1Api, volume: TenantVolume, body: dict[str, Any]) -> None:
    """Patch only the PV as we saw it: a changed one (rebound, edited) is left for the
    next pass to look at again."""
    body["metadata"]["resourceVersion"] = volume.resource_version
    with tolerate(404, 409):
        core.patch_persistent_volume(volume.persistent_volume, body)


def retain(core: client.CoreV1Api, volumes: Iterable[TenantVolume]) -> None:
    for volume in volumes:
        if volume.reclaim_policy == RETAIN:
            continue
        # Never overwrite a remembered original: a second pass would remember Retain.
        original = volume.original_policy or volume.reclaim_policy
        _patch(core, volume, {
            "metadata": {"annotations": {names.ANNOTATION_ORIGINAL_RECLAIM: original}},
            "spec": {"persistentVolumeReclaimPolicy": RETAIN},
        })


def restore(core: client.CoreV1Api, volumes: Iterable[TenantVolume]) -> list[str]:
    """Give bound volumes back their original policy; returns the PVs kept at Retain.

    A Released (or otherwise unbound) volume stays Retain whatever it had before:
    its claim is gone, and Delete would make the PV controller destroy its data
    at once — on a cancel, which promises that nothing is lost."""
    kept = []
    for volume in volumes:
        if volume.original_policy is None:
            continue
        if volume.phase != BOUND:
            kept.append(volume.persistent_volume)
            continue
        _patch(core, volume, {
            "metadata": {"annotations": {names.ANNOTATION_ORIGINAL_RECLAIM: None}},
            "spec": {"persistentVolumeReclaimPolicy": volume.original_policy},
        })
    return kept


def release(core: client.CoreV1Api, volumes: Iterable[TenantVolume]) -> None:
    """Reclaim policy Delete: once its claim is deleted with the namespace, the volume
    and its data go too (whatever the policy was before the exit — the certificate
    promises the data is gone)."""
    for volume in volumes:
        if volume.reclaim_policy == DELETE:
            continue
        _patch(core, volume, {
            "metadata": {"annotations": {names.ANNOTATION_ORIGINAL_RECLAIM: None}},
            "spec": {"persistentVolumeReclaimPolicy": DELETE},
        })
