"""Deleting: the irreversible step, in an order that survives a crash anywhere.

1. Record what will be destroyed (namespace UID, bound volumes) while it exists.
   Then, in the pass that takes the first irreversible step (dropping the schemas,
   or opening the namespace's guard), re-read the receipted manifest and HEAD its
   objects (phases/archive.py): an archive that changed since the receipt stops
   the deletion (ArchiveChanged, Stalled), a store that does not answer holds it
   (ArchiveUnreachable, retried). Until `databasesDropped` is recorded that step
   has not run for sure, so a pass after a crash checks again.
2. Drop the tenant's schemas on an external server, when configured — before the
   namespace goes, because the credentials Secret lives in it. Exactly the schemas
   the verified manifest lists, on the recorded server (never the live spec's).
3. Flip the guard label, set the volumes to Delete, delete the namespace.
4. When the namespace controller has emptied it and the volumes are gone, remove
   our finalizer; when the namespace is gone, write the certificate of
   destruction and enter Deleted.
Every step is re-issued until observed done; every action is idempotent. Every
call on the namespace carries the recorded UID and every volume is chosen by its
recorded claim UID: a namespace re-created under the tenant's name (GitOps
self-heal after the old one went) is never touched, only reported.
"""

from __future__ import annotations

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus, DeletionStatus, Phase, TenantVolume
from tenant_exit.api.terms import backup_terms
from tenant_exit.phases.actions import (
    Action,
    AllowNamespaceDeletion,
    DeleteNamespace,
    DropDatabases,
    ForgetExitRecords,
    RecordArchiveVerified,
    RecordDeletionTargets,
    RecordDroppedDatabases,
    RecordNotOurs,
    ReleaseNamespace,
    ReleaseVolumes,
    SetCondition,
    SetPhase,
    WriteCertificate,
)
from tenant_exit.phases.archive import ArchiveOutcome, describe, judge
from tenant_exit.phases.guards import recorded_uid, tenant_volume
from tenant_exit.phases.observed import DestructionSeen, Observed


def decide(exit: TenantExit, seen: Observed) -> list[Action]:
    deletion = exit.status.deletion or DeletionStatus()
    ns = exit.spec.tenant_namespace
    gone = seen.destruction
    if gone is None:
        return []
    if deletion.started_at is None:
        volumes = _targets(exit, gone)
        uid = recorded_uid(exit) or gone.namespace_uid
        return [
            RecordDeletionTargets(seen.now, uid, volumes),
            _progress(f"Recorded what will be destroyed: namespace {ns} (UID {uid}) and "
                      f"{len(volumes)} volume(s)"),
        ]
    first: list[Action] = []
    if deletion.databases_dropped is None:
        checked = _archive_gate(exit, seen)
        if checked is not None:
            return checked
        first.append(RecordArchiveVerified(seen.now))
        if exit.spec.deletion.drop_databases:
            terms = backup_terms(exit)
            schemas = tuple(exit.status.backup.schemas if exit.status.backup
                            and exit.status.backup.schemas is not None else terms.schemas)
            return [*first, DropDatabases(schemas, terms.host, terms.port),
                    _progress(f"Dropping schemas {', '.join(schemas)} on "
                              f"{terms.host}:{terms.port}")]
        # Nothing to drop: the namespace steps below are the first irreversible
        # ones, taken in this same pass, right after the check.
        first.append(RecordDroppedDatabases(()))
        if not gone.namespace_exists:
            return first
    recorded = deletion.volumes or []
    claims = tuple(v.claim_uid for v in recorded if v.claim_uid)
    remaining = sorted({v.persistent_volume for v in recorded} & gone.present_volumes)
    uid = deletion.namespace_uid
    notes: list[Action] = []
    if gone.other_namespace_uid is not None:
        notes.append(RecordNotOurs(
            f"Namespace {ns} now has UID {gone.other_namespace_uid}, not {uid} which this "
            "exit deleted: it is another namespace and was not touched"))
    if gone.namespace_exists and uid is not None:
        actions: list[Action] = [*first, AllowNamespaceDeletion(uid), ReleaseVolumes(claims),
                                 DeleteNamespace(uid)]
        if gone.contents_remaining or remaining:
            return [*actions, _progress(_waiting(ns, gone, remaining))]
        return [*actions, ReleaseNamespace(uid),
                _progress(f"Namespace {ns} is empty; releasing it")]
    if first:
        return first  # no namespace of ours to open: the next pass writes the certificate
    if remaining:
        return [*notes, ReleaseVolumes(claims),
                _progress(f"Namespace {ns} is gone; waiting for volumes {', '.join(remaining)}")]
    return [
        *notes,
        WriteCertificate(completed_at=seen.now),
        ForgetExitRecords(),
        SetPhase(Phase.DELETED, f"Tenant {ns} deleted; certificate of destruction written"),
        SetCondition(
            c.DELETED, ConditionStatus.TRUE, c.DESTROYED,
            f"Namespace {ns}, {len(recorded)} volume(s) and "
            f"{len(deletion.databases_dropped or [])} schema(s) destroyed; see "
            "status.deletion.certificate",
        ),
        SetCondition(c.READY, ConditionStatus.TRUE, c.DESTROYED,
                     "The exit is complete; this TenantExit is the record and may be removed"),
    ]


def archive_check_due(exit: TenantExit) -> bool:
    """Whether this pass must re-read the archive: Deleting, targets recorded, and the
    first irreversible step not yet recorded as done."""
    deletion = exit.status.deletion
    return (exit.status.phase is Phase.DELETING and deletion is not None
            and deletion.started_at is not None and deletion.databases_dropped is None)


def _archive_gate(exit: TenantExit, seen: Observed) -> list[Action] | None:
    """None when the archive is intact; otherwise the conditions that hold the deletion."""
    backup = exit.status.backup
    assert backup is not None and backup.manifest and backup.manifest_sha256
    if seen.archive is None:  # fails closed: an unread archive is not an intact one
        return [_progress("Re-reading the backup before the irreversible step")]
    verdict = judge(seen.archive, backup.manifest_sha256, backup.manifest_version_id)
    if verdict.outcome is ArchiveOutcome.INTACT:
        return None
    ns = exit.spec.tenant_namespace
    if verdict.outcome is ArchiveOutcome.UNREACHABLE:
        message = (f"Not deleting {ns} yet: the backup store did not answer the re-read of "
                   f"the receipted backup ({describe(verdict)}); nothing was deleted, the "
                   "operator retries")
        return [SetCondition(c.READY, ConditionStatus.FALSE, c.ARCHIVE_UNREACHABLE, message)]
    message = (f"Not deleting {ns}: the backup no longer matches what the customer confirmed "
               f"({describe(verdict)}). Nothing was deleted. Restore the receipted bytes "
               f"(manifestSha256 {backup.manifest_sha256}) or find out who changed the "
               "bucket; the deletion goes on by itself once the archive matches again")
    return [SetCondition(c.STALLED, ConditionStatus.TRUE, c.ARCHIVE_CHANGED, message),
            SetCondition(c.READY, ConditionStatus.FALSE, c.ARCHIVE_CHANGED, message)]


def _targets(exit: TenantExit, gone: DestructionSeen) -> tuple[TenantVolume, ...]:
    """The volumes recorded while bound, and any bound now in our namespace (by claim UID)."""
    recorded = list(exit.status.tenant.volumes) if exit.status.tenant else []
    known = {v.claim_uid for v in recorded}
    return (*recorded, *(tenant_volume(v) for v in gone.bound_volumes
                         if v.claim_uid not in known))


def _waiting(ns: str, gone: DestructionSeen, remaining: list[str]) -> str:
    waits = []
    if gone.contents_remaining:
        waits.append(f"the namespace controller to empty {ns}")
    if remaining:
        waits.append(f"volumes {', '.join(remaining)} to be deleted")
    return "Waiting for " + " and ".join(waits)


def _progress(message: str) -> SetCondition:
    return SetCondition(c.READY, ConditionStatus.TRUE, c.DELETION_IN_PROGRESS, message)
