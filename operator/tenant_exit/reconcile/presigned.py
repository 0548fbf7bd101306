"""uploadCredentials Presigned, the operator's part: start the attempt's uploads and
put only presigned URLs into the tenant namespace, read how far the Job got, and
clean up after it, all with the platform's keys in the operator's own process
(docs/security.md, "Presigned part uploads")."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.terms import backup_terms
from tenant_exit.kube import secrets
from tenant_exit.mysql.inventory import list_schemas
from tenant_exit.phases.observed import PresignedSeen
from tenant_exit.reconcile import backup_store
from tenant_exit.reconcile.context import Context
from tenant_exit.reconcile.database import connection as database_connection
from tenant_exit.storage.manifest import Manifest, RetentionRecord, manifest_key
from tenant_exit.storage.multipart import abort_stale_uploads, describe_error
from tenant_exit.storage.object_lock import LockMode, Retention, ensure_retention
from tenant_exit.storage.presigned_file import (
    FILE_NAME,
    PresignedFileInvalid,
    PresignedUploads,
    parse,
    render,
)
from tenant_exit.storage.presigned_issue import highest_part, issue, unfinished
from tenant_exit.worker.layout import database_key, dictionary_key, documents_key

log = logging.getLogger(__name__)

OCTET = "application/octet-stream"


def attempt_objects(exit: TenantExit, ctx: Context, attempt: int) -> list[tuple[str, str]]:
    """Every object the attempt's worker writes, with its content type: the keys are
    the worker's own (worker.layout) for the recorded schemas and claims. Without a
    schema list (a server inside the tenant namespace) the schemas are those the
    dump account sees now, as the worker reads them."""
    terms = backup_terms(exit)
    schemas = list(terms.schemas)
    if not schemas:
        with database_connection(exit, ctx, terms.host, terms.port) as conn:
            schemas = list_schemas(conn)
    prefix = names.attempt_folder(terms.exit_folder, attempt)
    return ([(database_key(prefix, s), OCTET) for s in schemas]
            + [(documents_key(prefix, c), OCTET) for c in terms.claims]
            + [(dictionary_key(prefix, f), OCTET) for f in ("json", "md")]
            + [(manifest_key(prefix), "application/json")])


def current_uploads(exit: TenantExit, ctx: Context) -> PresignedUploads | None:
    """The presigned file now in the tenant namespace; None without one (or unreadable,
    which the next issue replaces)."""
    text = secrets.read_upload_file(ctx.core, exit.name, exit.spec.tenant_namespace, FILE_NAME)
    if text is None:
        return None
    try:
        return parse(text)
    except PresignedFileInvalid as error:
        log.warning("exit %s: %s; issuing the presigned uploads again", exit.name, error)
        return None


def issue_presigned(exit: TenantExit, ctx: Context, attempt: int) -> None:
    """Start (or keep) the attempt's uploads and write a fresh window of URLs for each."""
    terms = backup_terms(exit)
    now = datetime.now(UTC)
    client, _ = backup_store.open_bucket(exit.spec.destination, ctx)
    lock = backup_store.upload_retention(exit, ctx, now)
    s = ctx.settings
    plan = issue(client, bucket=terms.bucket, attempt=attempt,
                 objects=attempt_objects(exit, ctx, attempt),
                 previous=current_uploads(exit, ctx), window=s.presigned_part_window,
                 seconds=s.upload_session_seconds, part_size_mib=s.presigned_part_size_mib,
                 retention=RetentionRecord(mode=lock[0], retain_until=lock[1]) if lock else None,
                 now=now)
    secrets.put_presigned_uploads(ctx.core, exit.owner, exit.spec.tenant_namespace,
                                  name=FILE_NAME, text=render(plan))
    log.info("exit %s: presigned %d uploads of attempt %d, %d parts each, until %s",
             exit.name, len(plan.uploads), attempt, plan.window, plan.expires_at.isoformat())


def window_seen(exit: TenantExit, ctx: Context, attempt: int) -> PresignedSeen | None:
    """How far each presigned upload of the running attempt got (ListParts)."""
    plan = current_uploads(exit, ctx)
    if plan is None or plan.attempt != attempt:
        return None
    client, _ = backup_store.open_bucket(exit.spec.destination, ctx)
    try:
        progress = tuple((u.last_part, highest_part(client, plan.bucket, u.key, u.upload_id))
                         for u in plan.uploads.values())
    except (ClientError, BotoCoreError) as error:
        # Not knowing is no reason to stop the Job; the expiry still renews it.
        log.warning("exit %s: cannot list the presigned uploads' parts: %s", exit.name,
                    describe_error(error))
        progress = ()
    return PresignedSeen(issued_at=plan.issued_at, expires_at=plan.expires_at,
                         window=plan.window, progress=progress)


def leftovers(exit: TenantExit, ctx: Context, attempt: int) -> int | None:
    """Unfinished uploads in an ended attempt's folder, while the tenant namespace
    still holds that attempt's URLs; None once they are gone (cleaned up: nothing
    to ask the store)."""
    plan = current_uploads(exit, ctx)
    if plan is None or plan.attempt != attempt:
        return None
    terms = backup_terms(exit)
    client, _ = backup_store.open_bucket(exit.spec.destination, ctx)
    return unfinished(client, terms.bucket, names.attempt_folder(terms.exit_folder, attempt))


def abort_leftovers(exit: TenantExit, ctx: Context, attempt: int) -> None:
    """Abort every unfinished upload of an ended attempt (a failed or killed worker
    cannot abort them all with its URLs, and parts left would be kept, and billed),
    then delete its URLs: an ended attempt needs none, and each is a bearer credential."""
    terms = backup_terms(exit)
    client, _ = backup_store.open_bucket(exit.spec.destination, ctx)
    folder = names.attempt_folder(terms.exit_folder, attempt)
    aborted = abort_stale_uploads(client, terms.bucket, [folder])
    if aborted:
        log.info("exit %s: aborted %d unfinished uploads of attempt %d", exit.name, aborted,
                 attempt)
    secrets.remove_s3_credentials(ctx.core, exit.name, exit.spec.tenant_namespace)


def confirm_retention(exit: TenantExit, ctx: Context, key: str,
                      version_id: str | None) -> None:
    """The retention of a finished presigned backup, which the worker could not
    confirm itself (PutObjectRetention needs a key): read back, and set where the
    store ignored the headers of the operator's CreateMultipartUpload."""
    client, _ = backup_store.open_bucket(exit.spec.destination, ctx)
    bucket = backup_terms(exit).bucket
    args = {"Bucket": bucket, "Key": key} | ({"VersionId": version_id} if version_id else {})
    manifest = Manifest.from_bytes(client.get_object(**args)["Body"].read())  # type: ignore[arg-type]
    if manifest.retention is None:
        return
    wanted = Retention(LockMode(manifest.retention.mode), manifest.retention.retain_until)
    for obj in manifest.objects:
        ensure_retention(client, bucket, obj.key, obj.version_id, wanted)
    ensure_retention(client, bucket, key, version_id, wanted)
