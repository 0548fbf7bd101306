"""Deleting: the irreversible step, in an order that survives a crash anywhere.

1. Record what will be destroyed (namespace UID, bound volumes) while it exists.
2. Drop the tenant's schemas on an external server, when configured — before the
   namespace goes, because the credentials Secret lives in it.
3. Flip the guard label, set the volumes to Delete, delete the namespace.
4. When the namespace controller has emptied it and the volumes are gone, remove
   our finalizer; when the namespace is gone, write the certificate of
   destruction and enter Deleted.
Every step is re-issued until observed done; every action is idempotent.
"""

from __future__ import annotations

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus, DeletionStatus, Phase
from tenant_exit.phases.actions import (
    Action,
    AllowNamespaceDeletion,
    DeleteNamespace,
    DropDatabases,
    ForgetExitRecords,
    RecordDeletionTargets,
    RecordDroppedDatabases,
    ReleaseNamespace,
    ReleaseVolumes,
    SetCondition,
    SetPhase,
    WriteCertificate,
)
from tenant_exit.phases.observed import DestructionSeen, Observed


def decide(exit: TenantExit, seen: Observed) -> list[Action]:
    deletion = exit.status.deletion or DeletionStatus()
    ns = exit.spec.tenant_namespace
    gone = seen.destruction
    if gone is None:
        return []
    if deletion.started_at is None:
        volumes = tuple((v.persistent_volume, v.claim, v.capacity) for v in gone.bound_volumes)
        return [
            RecordDeletionTargets(seen.now, gone.namespace_uid, volumes),
            _progress(f"Recorded what will be destroyed: namespace {ns} and "
                      f"{len(volumes)} volume(s)"),
        ]
    if deletion.databases_dropped is None:
        if exit.spec.deletion.drop_databases:
            return [DropDatabases(tuple(exit.spec.database.databases)),
                    _progress(f"Dropping schemas {', '.join(exit.spec.database.databases)}")]
        return [RecordDroppedDatabases(())]
    recorded = tuple(v.persistent_volume for v in deletion.volumes or [])
    remaining = sorted(set(recorded) & gone.present_volumes)
    if gone.namespace_exists:
        actions: list[Action] = [AllowNamespaceDeletion(), ReleaseVolumes(recorded),
                                 DeleteNamespace()]
        if gone.contents_remaining or remaining:
            return [*actions, _progress(_waiting(ns, gone, remaining))]
        return [*actions, ReleaseNamespace(), _progress(f"Namespace {ns} is empty; releasing it")]
    if remaining:
        return [ReleaseVolumes(tuple(remaining)),
                _progress(f"Namespace {ns} is gone; waiting for volumes {', '.join(remaining)}")]
    return [
        WriteCertificate(completed_at=seen.now),
        ForgetExitRecords(),
        SetPhase(Phase.DELETED, f"Tenant {ns} deleted; certificate of destruction written"),
        SetCondition(
            c.DELETED, ConditionStatus.TRUE, c.DESTROYED,
            f"Namespace {ns}, {len(recorded)} volume(s) and "
            f"{len(deletion.databases_dropped)} schema(s) destroyed; see "
            "status.deletion.certificate",
        ),
        SetCondition(c.READY, ConditionStatus.TRUE, c.DESTROYED,
                     "The exit is complete; this TenantExit is the record and may be removed"),
    ]


def _waiting(ns: str, gone: DestructionSeen, remaining: list[str]) -> str:
    waits = []
    if gone.contents_remaining:
        waits.append(f"the namespace controller to empty {ns}")
    if remaining:
        waits.append(f"volumes {', '.join(remaining)} to be deleted")
    return "Waiting for " + " and ".join(waits)


def _progress(message: str) -> SetCondition:
    return SetCondition(c.READY, ConditionStatus.TRUE, c.DELETION_IN_PROGRESS, message)
