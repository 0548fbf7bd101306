"""Execute side-effect actions through the adapters, in order.

Returns status facts learnt on the way (which accounts lost their writes).
The first failure stops the pass and is raised as an ExitError; because every
action is idempotent the next pass simply starts again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, assert_never

from tenant_exit.api.resource import TenantExit
from tenant_exit.api.restore import RestoreMode, ScratchPlan, plan_scratch
from tenant_exit.api.spec import Database, DatabaseReadOnlyMode, Destination, UploadCredentials
from tenant_exit.api.terms import frozen_spec, restore_level
from tenant_exit.kube import appflag, delivery, destruction, guards, jobs, records, secrets
from tenant_exit.mysql import drop, grants, readonly
from tenant_exit.mysql.inventory import data_size
from tenant_exit.mysql.server import read_server
from tenant_exit.phases import actions as a
from tenant_exit.phases import revert_record
from tenant_exit.reconcile import backup_store, presigned
from tenant_exit.reconcile.context import Context
from tenant_exit.reconcile.database import connection as _database
from tenant_exit.reconcile.failures import classify

log = logging.getLogger(__name__)

GRANTS_RECORD = "grants.json"
SERVER_RECORD = "server-read-only.json"


def execute(exit: TenantExit, actions: list[a.SideEffect], ctx: Context) -> list[a.StatusAction]:
    facts: list[a.StatusAction] = []
    for action in actions:
        try:
            facts += _run(exit, action, ctx)
        except Exception as error:
            failure = classify(action, exit.name, error)
            if failure.unexpected:
                log.exception("unexpected failure of %s", type(action).__name__)
            raise failure from None
    return facts


def _run(exit: TenantExit, action: a.SideEffect, ctx: Context) -> list[a.StatusAction]:
    namespace = exit.spec.tenant_namespace
    match action:
        case a.ApplyGuards(phase=phase, namespace_uid=uid):
            guards.apply_guards(ctx.core, namespace, uid, exit.name, phase.value)
        case a.RemoveGuards(namespace_uid=uid, claim_uids=claims):
            kept = guards.remove_guards(ctx.core, namespace, uid, exit.name, list(claims))
            if kept:
                log.warning("exit %s: volumes %s kept at Retain: their claims are gone",
                            exit.name, ", ".join(kept))
                return [a.RecordNotOurs(f"volumes {', '.join(kept)} kept at Retain: "
                                        "their claims are gone, Delete would destroy their data")]
        case a.EnforceReadOnly(mode=mode):
            return _enforce_read_only(exit, mode, ctx)
        case a.RevertReadOnly():
            _revert_read_only(exit, ctx)
        case a.SetAppFlag(flag=flag):
            appflag.set_flag(ctx.core, namespace, flag)
        case a.ResetAppFlag(flag=flag):
            appflag.reset_flag(ctx.core, namespace, flag)
        case a.CopyS3Credentials(attempt=attempt):
            if _presigned(exit):
                presigned.issue_presigned(exit, ctx, attempt)
            else:
                backup_store.issue_upload_credentials(exit, ctx, attempt)
        case a.AbortUnfinishedUploads(attempt=attempt):
            presigned.abort_leftovers(exit, ctx, attempt)
        case a.ConfirmUploadRetention(manifest_key=key, manifest_version_id=version):
            presigned.confirm_retention(exit, ctx, key, version)
        case a.RemoveS3Credentials():
            secrets.remove_s3_credentials(ctx.core, exit.name, namespace)
        case a.CreateBackupJob(attempt=attempt):
            # The backed-up terms (issue 10), whatever the spec says now.
            database, documents, destination = frozen_spec(exit)
            terms = jobs.BackupTerms(namespace, database, documents, destination,
                                     exit.spec.request, _scratch_plan(exit, database, ctx),
                                     _off_reason(exit), exit.spec.freeze_mode(),
                                     exit.spec.freeze_acknowledgement(),
                                     backup_store.upload_retention(exit, ctx,
                                                                   datetime.now(UTC)))
            jobs.ensure_job(ctx.batch,
                            jobs.build_backup_job(exit.owner, terms, attempt, ctx.settings))
        case a.CreateVerifyJob(attempt=attempt, manifest_key=key, manifest_sha256=digest):
            backup_store.start_verify(exit, ctx, attempt, key, digest)
        case a.DeliverBackup(manifest_key=key, manifest_sha256=digest):
            return [backup_store.deliver(exit, ctx, key, digest, datetime.now(UTC))]
        case a.ExtendRetention(until=until):
            return [backup_store.extend_retention(exit, ctx, until)]
        case a.RemoveDownloadLinks():
            delivery.delete_links(ctx.core, ctx.settings.operator_namespace, exit.name)
        case a.AllowNamespaceDeletion(namespace_uid=uid):
            destruction.allow_deletion(ctx.core, namespace, uid)
        case a.ReleaseVolumes(claim_uids=claims):
            destruction.release_volumes(ctx.core, list(claims))
        case a.DropDatabases(schemas=schemas, host=host, port=port):
            with _database(exit, ctx, host, port) as conn:
                dropped = drop.drop_schemas(conn, list(schemas))
            log.info("dropped schemas %s of exit %s", ", ".join(dropped), exit.name)
            return [a.RecordDroppedDatabases(tuple(dropped))]
        case a.DeleteNamespace(namespace_uid=uid):
            destruction.delete_namespace(ctx.core, namespace, uid)
        case a.ReleaseNamespace(namespace_uid=uid):
            destruction.release_namespace(ctx.core, namespace, uid)
        case a.WriteCertificate(completed_at=completed_at):
            return [backup_store.store_certificate(exit, ctx, completed_at)]
        case a.ForgetExitRecords():
            home = ctx.settings.operator_namespace
            records.delete_record(ctx.core, home, exit.name)
            delivery.delete_links(ctx.core, home, exit.name)
        case _:
            # mypy proves this unreachable: an action type without an arm fails the
            # type check instead of silently doing nothing.
            assert_never(action)
    return []


def _presigned(exit: TenantExit) -> bool:
    destination = exit.spec.destination
    return (destination is not None and destination.s3 is not None
            and destination.s3.upload_credentials is UploadCredentials.PRESIGNED)


def _scratch_plan(exit: TenantExit, database: Database, ctx: Context) -> ScratchPlan:
    """The scratch server for the backed-up server: its family and version pick the
    image, its size the volume (issue 13). Read at each Job's creation, so a new
    attempt after an upgrade of the source gets the matching image; the level is
    the recorded one, so no attempt runs under a level loosened since."""
    s = ctx.settings
    mode = restore_level(exit, s.restore_mode)
    if mode is RestoreMode.OFF:
        return ScratchPlan(mode)
    with _database(exit, ctx, database.host, database.port) as conn:
        source = read_server(conn)
        size = data_size(conn, list(database.databases))
    return plan_scratch(mode, s.restore_images, family=source.family.value,
                        version=source.version, data_bytes=size,
                        limit_bytes=s.restore_max_data_bytes)


def _off_reason(exit: TenantExit) -> str | None:
    verification = exit.spec.verification
    return verification.off_reason if verification is not None else None


def _destination(exit: TenantExit) -> Destination:
    # Admission decides that a backup needs a destination; no action runs before.
    assert exit.spec.destination is not None, "backup actions run only with a destination"
    return exit.spec.destination


def _enforce_read_only(
    exit: TenantExit, mode: DatabaseReadOnlyMode, ctx: Context
) -> list[a.StatusAction]:
    if _enforced_before(exit):
        # Enforced before: the record was written then. If it is gone now, re-creating
        # it from today's (already revoked) state would make a cancel "restore" the
        # revoked grants; say it is lost instead, as the cancel does.
        _require_record(exit, ctx)
    with _database(exit, ctx) as conn:
        if mode is DatabaseReadOnlyMode.SERVER_READ_ONLY:
            # Remember the flag before the first change; later passes keep that value.
            _remember(exit, ctx, SERVER_RECORD, readonly.read_flags(conn))
            readonly.set_read_only(conn, True)
            return []
        schemas = grants.tenant_schemas(conn, list(exit.spec.database.databases))
        read_only = exit.spec.read_only
        listed = [grants.Account.parse(x) for x in read_only.accounts] if read_only else []
        fresh = grants.plan_revocation(conn, schemas, listed or None)
        # Written before the first REVOKE: a crash in between must not lose the originals.
        original = grants.RevocationPlan.from_json(
            _remember(exit, ctx, GRANTS_RECORD, fresh.to_json()))
        # The fresh plan also catches drift (a write grant restored by hand).
        lost = grants.revoke(conn, original) + grants.revoke(conn, fresh)
        if lost:
            grants.kill_sessions(conn, lost)
            log.info("revoked writes of %s on %s", ", ".join(map(str, lost)), ", ".join(schemas))
        return [a.RecordReadOnlyAccounts(tuple(str(x) for x in original.accounts))]


def _enforced_before(exit: TenantExit) -> bool:
    return exit.status.read_only is not None and exit.status.read_only.enforced_at is not None


def _require_record(exit: TenantExit, ctx: Context) -> None:
    acknowledged = exit.metadata.annotations.get(records.LOST_ACKNOWLEDGED)
    records.require_record(ctx.core, ctx.settings.operator_namespace, exit.name,
                           revert_record.lost_changes(exit),
                           acknowledged == revert_record.LOST_ACKNOWLEDGED_VALUE)


def _remember(exit: TenantExit, ctx: Context, key: str, current: Any) -> Any:
    """The value under `key` from before the exit's first change.

    Until status says the freeze was enforced, `current` is stored (the first write
    wins, so a pass re-run after a crash keeps the originals). After that the record
    is only read, never written: a record deleted while this pass ran (after the
    check above) must stay lost, not come back holding the revoked state; an
    acknowledged loss goes on with `current`."""
    home = ctx.settings.operator_namespace
    if not _enforced_before(exit):
        return records.write_record_once(ctx.core, home, exit.owner, key, current)
    stored = records.read_record(ctx.core, home, exit.name, key)
    if stored is not None:
        return stored
    _require_record(exit, ctx)
    return current


def _revert_read_only(exit: TenantExit, ctx: Context) -> None:
    home = ctx.settings.operator_namespace
    stored_grants = records.read_record(ctx.core, home, exit.name, GRANTS_RECORD)
    stored_server = records.read_record(ctx.core, home, exit.name, SERVER_RECORD)
    if stored_grants is None and stored_server is None:
        _require_record(exit, ctx)
        return
    with _database(exit, ctx) as conn:
        if stored_grants is not None:
            differing = grants.restore(conn, grants.RevocationPlan.from_json(stored_grants))
            if differing:
                log.warning("grants of %s differ from before the exit", ", ".join(differing))
            records.forget_record(ctx.core, home, exit.name, GRANTS_RECORD)
        if stored_server is not None:
            readonly.restore_flags(conn, stored_server)
            records.forget_record(ctx.core, home, exit.name, SERVER_RECORD)
    # The emptied record stays until the cancel has finished (passes.cancel deletes
    # it): a retry after a later step failed must not mistake it for a lost one.
