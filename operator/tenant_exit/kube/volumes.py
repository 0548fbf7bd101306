"""Reclaim policy of the PersistentVolumes bound to claims in a tenant namespace.

Every bound PV is switched to Retain, not only the document claims: the
database's volume is tenant data too, and a claim added later is caught by the
next pass. The original policy is kept in an annotation on the PV itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from kubernetes import client
from kubernetes.client import models as k

from tenant_exit.api import names
from tenant_exit.kube.errors import tolerate

RETAIN = "Retain"


def _bound_to(core: client.CoreV1Api, namespace: str) -> Iterator[k.V1PersistentVolume]:
    for pv in core.list_persistent_volume().items:
        ref = pv.spec.claim_ref
        if ref is not None and ref.namespace == namespace:
            yield pv


def unretained(core: client.CoreV1Api, namespace: str) -> list[str]:
    return [
        pv.metadata.name
        for pv in _bound_to(core, namespace)
        if pv.spec.persistent_volume_reclaim_policy != RETAIN
    ]


def retain_all(core: client.CoreV1Api, namespace: str) -> None:
    for pv in _bound_to(core, namespace):
        policy = pv.spec.persistent_volume_reclaim_policy
        if policy == RETAIN:
            continue
        annotations = pv.metadata.annotations or {}
        # Never overwrite a remembered original: a second pass would remember Retain.
        original = annotations.get(names.ANNOTATION_ORIGINAL_RECLAIM, policy)
        core.patch_persistent_volume(
            pv.metadata.name,
            {
                "metadata": {"annotations": {names.ANNOTATION_ORIGINAL_RECLAIM: original}},
                "spec": {"persistentVolumeReclaimPolicy": RETAIN},
            },
        )


def restore_all(core: client.CoreV1Api, namespace: str) -> None:
    for pv in _bound_to(core, namespace):
        original = (pv.metadata.annotations or {}).get(names.ANNOTATION_ORIGINAL_RECLAIM)
        if original is None:
            continue
        with tolerate(404):
            core.patch_persistent_volume(
                pv.metadata.name,
                {
                    "metadata": {"annotations": {names.ANNOTATION_ORIGINAL_RECLAIM: None}},
                    "spec": {"persistentVolumeReclaimPolicy": original},
                },
            )
