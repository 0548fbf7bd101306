"""Why a backup pod waits: a ReadWriteOnce claim that another node holds.

A ReadWriteOnce volume attaches to one node at a time. When an application pod
on node A still mounts a document claim, the backup pod placed on node B stays
in ContainerCreating (the attach/detach controller only reports a Multi-Attach
error as an Event) until the Job's activeDeadlineSeconds, 6 h by default, fails
it. The operator reads what it may already read — the namespace's pods and the
PersistentVolumes — and names the holder, so the exit's condition says what to
stop instead of "running" for six hours.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from kubernetes import client
from kubernetes.client import models as k

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
_ONE_NODE = {"ReadWriteOnce"}


@dataclass(frozen=True)
class PendingPod:
    pod: str
    since: datetime | None
    holders: tuple[str, ...]
    """Sentences like "claim client-documents (ReadWriteOnce) is mounted by pod
    app-0 on node b"; empty when no such claim is held elsewhere."""


def _claims(pod: k.V1Pod) -> set[str]:
    return {v.persistent_volume_claim.claim_name for v in (pod.spec.volumes or [])
            if v.persistent_volume_claim is not None}


def one_node_claims(namespace: str, volumes: Iterable[k.V1PersistentVolume]) -> set[str]:
    """Claims in `namespace` bound to a volume that attaches to one node only."""
    found = set()
    for pv in volumes:
        ref = pv.spec.claim_ref if pv.spec else None
        modes = set(pv.spec.access_modes or []) if pv.spec else set()
        if ref is not None and ref.namespace == namespace and modes and modes <= _ONE_NODE:
            found.add(ref.name)
    return found


def find_holders(waiting: k.V1Pod, others: Iterable[k.V1Pod], one_node: set[str]
                 ) -> tuple[str, ...]:
    """Pure: running pods on another node that mount a one-node claim `waiting` needs."""
    wanted = _claims(waiting) & one_node
    node = waiting.spec.node_name
    held = []
    for other in others:
        if other.metadata.name == waiting.metadata.name:
            continue
        if (other.status.phase if other.status else None) not in ("Running", "Pending"):
            continue
        where = other.spec.node_name
        if where is None or where == node:
            continue
        for claim in sorted(_claims(other) & wanted):
            held.append(f"claim {claim} (ReadWriteOnce) is mounted by pod "
                        f"{other.metadata.name} on node {where}")
    return tuple(held)


def pending_backup_pod(core: client.CoreV1Api, namespace: str, job_name: str
                       ) -> PendingPod | None:
    """The Job's Pending pod and who holds its claims; None when no pod waits."""
    pods = core.list_namespaced_pod(namespace).items
    mine = [p for p in pods if (p.metadata.labels or {}).get(JOB_NAME_LABEL) == job_name]
    phases = [(p, p.status.phase if p.status else None) for p in mine]
    waiting = [p for p, phase in phases if phase == "Pending"]
    if not waiting or any(phase in ("Running", "Succeeded") for _, phase in phases):
        return None
    pod = waiting[0]
    one_node = one_node_claims(namespace, core.list_persistent_volume().items)
    others = [p for p in pods if (p.metadata.labels or {}).get(JOB_NAME_LABEL) != job_name]
    return PendingPod(pod.metadata.name, pod.metadata.creation_timestamp,
                      find_holders(pod, others, one_node))
