"""The operator's own dealings with the backup bucket: verify what the worker
reported, deliver it to the customer, and store the certificate of destruction.

Credentials come from the destination Secret outside the tenant namespace and
stay in the S3 client; presigned links go only into the links Secret.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from tenant_exit import __version__
from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.spec import Destination
from tenant_exit.api.status import BackupRetention, ExcludedTableStatus
from tenant_exit.api.terms import backup_terms
from tenant_exit.api.types import parse_go_duration
from tenant_exit.api.verify_result import VerifyPlan
from tenant_exit.kube import delivery, secrets, signing_key, verify_jobs
from tenant_exit.phases import actions as a
from tenant_exit.phases.observed import BackupCheck, JobState
from tenant_exit.reconcile.context import Context
from tenant_exit.storage import certificate as cert
from tenant_exit.storage.adoption import term_differences
from tenant_exit.storage.archive_check import ArchiveReading
from tenant_exit.storage.archive_check import read_archive as read_stored_archive
from tenant_exit.storage.customer_readme import write_readme
from tenant_exit.storage.manifest import (
    MANIFEST_NAME,
    Manifest,
    read_manifest,
    read_manifest_version,
)
from tenant_exit.storage.multipart import UploadError, describe_error
from tenant_exit.storage.object_lock import (
    LockMode,
    LockStateUnknown,
    Retention,
    bucket_protection,
    ensure_retention,
    whole_second,
)
from tenant_exit.storage.presign import presign_backup, presign_get
from tenant_exit.storage.s3client import make_client
from tenant_exit.storage.signing import SigningKey, write_signature

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)


def check_credentials_allowed(destination: Destination | None, ctx: Context) -> None:
    """The credential-namespace allowlist, on every attempt and every read (issue 10,
    scenario 10): the Secret named by the spec now, not the one checked at attempt 1."""
    assert destination is not None, "credentials are read only for an exit with a destination"
    source = destination.store.credentials_secret
    allowed = ctx.credential_namespaces()
    if source.namespace not in allowed:
        raise secrets.SecretProblem(
            f"spec.destination.s3.credentialsSecret is in namespace {source.namespace}; the "
            f"operator reads credentials only from: {', '.join(allowed)}")


def open_bucket(destination: Destination | None, ctx: Context) -> tuple[S3Client, str]:
    """A client on the destination's store, with the keys of its Secret."""
    assert destination is not None, "the bucket is opened only for an exit with a destination"
    check_credentials_allowed(destination, ctx)
    s3 = destination.store
    keys = secrets.s3_credentials(ctx.core, s3.credentials_secret)
    client = make_client(endpoint_url=s3.endpoint, region=s3.region,
                         aws_access_key_id=keys.access_key_id,
                         aws_secret_access_key=keys.secret_access_key)
    return client, s3.bucket


def check_backup(exit: TenantExit, ctx: Context, job: JobState) -> BackupCheck | None:
    """Read back the manifest the worker's summary names and check it is this exit's;
    None when there is no summary. Its objects are the verify Job's to read."""
    try:
        summary = json.loads(job.termination_message or "")
        key, reported = str(summary["manifestKey"]), str(summary["manifestSha256"])
    except (ValueError, KeyError, TypeError):
        return None
    client, bucket = open_bucket(exit.spec.destination, ctx)
    try:
        manifest, digest, version = read_manifest_version(client, bucket, key)
    except (ClientError, BotoCoreError) as error:
        problem = f"cannot read manifest s3://{bucket}/{key}: {describe_error(error)}"
        return BackupCheck(key, None, reported, problems=(problem,))
    totals = manifest.totals
    problems = _not_these_terms(exit, key, manifest)
    if manifest.retention is None:
        try:
            if bucket_protection(client, bucket).object_lock:
                problems.append(f"bucket {bucket} has Object Lock but manifest {key} was "
                                "written without retention")
        except LockStateUnknown as error:
            # Unknown is not "unlocked": a backup that may lack its retention is refused.
            problems.append(str(error))
    return BackupCheck(
        manifest_key=key, manifest_sha256=digest, reported_sha256=reported,
        manifest_version_id=version,
        retention=(BackupRetention(mode=manifest.retention.mode,
                                   retain_until=manifest.retention.retain_until)
                   if manifest.retention else None),
        problems=tuple(problems),
        schemas=tuple(s.name for s in manifest.database.schemas) if manifest.database else (),
        excluded_tables=excluded_tables(manifest),
        tables=totals.tables, rows=totals.rows,
        database_bytes=totals.database_bytes, files=totals.files,
        document_bytes=totals.document_bytes,
        stored_bytes=sum(obj.size for obj in manifest.objects),
        objects=len(manifest.objects),
        restore_status=manifest.verification.status if manifest.verification else "",
        restore_reason=manifest.verification.reason if manifest.verification else "",
        restore_message=manifest.verification.message if manifest.verification else "",
    )


def read_archive(exit: TenantExit, ctx: Context) -> ArchiveReading:
    """The receipted manifest (its recorded version) and every object it lists, as
    the store has them now: the facts the deletion's last check judges."""
    backup = exit.status.backup
    assert backup is not None and backup.manifest and backup.manifest_sha256
    client, _ = open_bucket(exit.spec.destination, ctx)
    bucket = backup_terms(exit).bucket  # where the receipted backup was written
    return read_stored_archive(client, bucket, backup.manifest,
                               expected_sha256=backup.manifest_sha256,
                               manifest_version=backup.manifest_version_id)


def upload_retention(exit: TenantExit, ctx: Context,
                     now: datetime) -> tuple[str, datetime] | None:
    """The Object Lock retention a backup Job writes with, or None when the bucket has
    no Object Lock: Job creation + the Job's deadline + the download links' lifetime
    + the grace period + a margin (storage/object_lock.py explains the choice).

    A store that does not answer the question (unreachable, or refusing it) does not
    hold the Job back: the Job meets the same store and fails there like in any
    outage, and the check of the finished backup (`check_backup`) refuses a backup
    written without retention into a bucket that has Object Lock, so the next
    attempt asks again."""
    client, _ = open_bucket(exit.spec.destination, ctx)
    bucket = backup_terms(exit).bucket
    try:
        locked = bucket_protection(client, bucket).object_lock
    except LockStateUnknown as error:
        log.warning("exit %s: %s; the Job writes without retention and its finished "
                    "backup is checked for it", exit.name, error)
        return None
    except BotoCoreError as error:
        log.warning("exit %s: Object Lock of bucket %s unknown (%s); the Job writes "
                    "without retention and its finished backup is checked for it",
                    exit.name, bucket, type(error).__name__)
        return None
    if not locked:
        return None
    s = ctx.settings
    window = timedelta(seconds=s.job_deadline_seconds + ctx.download_link_seconds()
                       + s.object_lock_margin_seconds)
    return s.object_lock_mode, whole_second(
        now + window + parse_go_duration(exit.spec.deletion.grace_period))


def extend_retention(exit: TenantExit, ctx: Context, until: datetime) -> a.RecordRetention:
    """Lengthen the retention of the receipted manifest (its recorded version) and of
    every object it lists (their recorded versions) to at least `until`."""
    backup = exit.status.backup
    assert backup and backup.manifest and backup.manifest_sha256 and backup.retention
    client, _ = open_bucket(exit.spec.destination, ctx)
    bucket = backup_terms(exit).bucket
    args: dict[str, Any] = {"Bucket": bucket, "Key": backup.manifest}
    if backup.manifest_version_id:
        args["VersionId"] = backup.manifest_version_id
    data = client.get_object(**args)["Body"].read()
    if hashlib.sha256(data).hexdigest() != backup.manifest_sha256:
        raise UploadError(f"manifest s3://{bucket}/{backup.manifest} is not the verified one; "
                          "not extending its retention")
    wanted = Retention(LockMode(backup.retention.mode), whole_second(until))
    in_force = [ensure_retention(client, bucket, obj.key, obj.version_id, wanted)
                for obj in Manifest.from_bytes(data).objects]
    in_force.append(ensure_retention(client, bucket, backup.manifest,
                                     backup.manifest_version_id, wanted))
    return a.RecordRetention(BackupRetention(mode=backup.retention.mode,
                                             retain_until=min(in_force)))


def start_verify(exit: TenantExit, ctx: Context, attempt: int, manifest_key: str,
                 manifest_sha256: str) -> None:
    """The verify Job with a plan of presigned GETs for the manifest and each object
    it lists, valid for the Job's deadline: it needs no key of its own."""
    client, bucket = open_bucket(exit.spec.destination, ctx)
    manifest, digest = read_manifest(client, bucket, manifest_key)
    if digest != manifest_sha256:
        raise ValueError(f"manifest s3://{bucket}/{manifest_key} changed after it was read; "
                         "not verifying it")
    seconds = ctx.settings.verify_deadline_seconds
    plan = VerifyPlan(
        manifest_key=manifest_key, manifest_sha256=digest,
        manifest_url=presign_get(client, bucket, manifest_key, seconds),
        object_urls={obj.key: presign_get(client, bucket, obj.key, seconds)
                     for obj in manifest.objects})
    verify_jobs.start_verify_job(ctx.core, ctx.batch, exit.owner, attempt, plan, ctx.settings)


def excluded_tables(manifest: Manifest) -> tuple[ExcludedTableStatus, ...]:
    """The manifest's excluded tables, for status (what is not in the archive)."""
    if manifest.database is None:
        return ()
    return tuple(ExcludedTableStatus(schema_name=s.name, table=t.name, rows=t.rows,
                                     rule=t.pattern)
                 for s in manifest.database.schemas for t in s.excluded_tables)


def new_signing_key() -> signing_key.StoredKey:
    return signing_key.StoredKey(*SigningKey.generate().stored())


def signing(ctx: Context) -> SigningKey:
    """The operator's signing key (created on first use, see kube/signing_key)."""
    stored = signing_key.ensure_signing_key(ctx.core, ctx.settings.operator_namespace,
                                            new_signing_key)
    return SigningKey.from_pem(stored.private_pem.encode())


def _not_these_terms(exit: TenantExit, key: str, manifest: Manifest) -> list[str]:
    """A manifest is accepted only from this exit's folder and for the recorded terms."""
    terms = backup_terms(exit)
    problems = [] if key.startswith(terms.exit_folder) else [
        f"manifest {key} is outside this exit's folder {terms.exit_folder}"]
    return problems + term_differences(manifest, exit_uid=terms.exit_uid, schemas=terms.schemas,
                                       claims=terms.claims, recipients=terms.recipients)


def earlier_manifest(exit: TenantExit, ctx: Context, digest: str) -> str | None:
    """The key of a manifest of an earlier attempt or of an earlier exit of this name
    (`<prefix><exit>/...` before UIDs, `<prefix><exit>-<uid8>/...`) with `digest`."""
    terms = backup_terms(exit)
    client, _ = open_bucket(exit.spec.destination, ctx)
    current = exit.status.backup.manifest if exit.status.backup else None
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=terms.bucket, Prefix=f"{names.key_prefix(terms.prefix)}{exit.name}")
    for page in pages:
        for item in page.get("Contents", []):
            key = item["Key"]
            if key == current or not key.endswith(f"/{MANIFEST_NAME}"):
                continue
            body = client.get_object(Bucket=terms.bucket, Key=key)["Body"].read()
            if hashlib.sha256(body).hexdigest() == digest:
                return key
    return None


def deliver(exit: TenantExit, ctx: Context, manifest_key: str, manifest_sha256: str,
            now: datetime) -> a.RecordDelivery:
    client, bucket = open_bucket(exit.spec.destination, ctx)
    data = client.get_object(Bucket=bucket, Key=manifest_key)["Body"].read()
    # Sign only the bytes that were verified: the worker (in the tenant namespace,
    # which never sees the key) wrote them, the operator vouches for them here.
    if hashlib.sha256(data).hexdigest() != manifest_sha256:
        raise ValueError(f"manifest s3://{bucket}/{manifest_key} changed after it was "
                         "verified; not signing it")
    manifest = Manifest.from_bytes(data)
    key = signing(ctx)
    signature = write_signature(client, bucket, manifest_key, data, key)
    readme_key = write_readme(client, bucket, manifest_key, manifest, manifest_sha256,
                              key.public_text, exit.spec.customer.language)
    seconds = ctx.download_link_seconds()
    links = [
        {"key": link.key, "file": link.key.rsplit("/", 1)[-1], "url": link.url,
         "size": link.size, "sha256": link.sha256}
        for link in presign_backup(client, bucket, manifest_key, expires_in=seconds,
                                   manifest=manifest)
    ]
    links += [{"key": extra, "file": extra.rsplit("/", 1)[-1],
               "url": presign_get(client, bucket, extra, seconds), "size": None, "sha256": None}
              for extra in (signature, readme_key)]
    expires_at = now + timedelta(seconds=seconds)
    where = delivery.write_links(ctx.core, ctx.settings.operator_namespace, exit.owner, links,
                                 expires_at)
    return a.RecordDelivery(download_secret=where, links_expire_at=expires_at, readme=readme_key,
                            signature=signature, public_key=key.public_text)


def build_certificate(exit: TenantExit, completed_at: datetime) -> cert.DestructionCertificate:
    status = exit.status
    backup, receipt, deletion = status.backup, status.receipt, status.deletion
    assert backup and backup.manifest and backup.manifest_sha256 and exit.spec.destination
    assert receipt and receipt.confirmed_at and receipt.confirmed_by
    assert deletion and deletion.started_at and deletion.databases_dropped is not None
    terms = backup_terms(exit)  # the server the schemas were dropped on
    request = exit.spec.request
    certificate = cert.DestructionCertificate(
        exit_name=exit.name,
        exit_uid=exit.metadata.uid,
        namespace=cert.DestroyedNamespace(name=exit.spec.tenant_namespace,
                                          uid=deletion.namespace_uid or "unknown"),
        volumes=[
            cert.DestroyedVolume(persistent_volume=v.persistent_volume, claim=v.claim,
                                 capacity=v.capacity, reclaim_policy_at_deletion="Delete")
            for v in deletion.volumes or []
        ],
        databases=[cert.DroppedDatabase(server=f"{terms.host}:{terms.port}", schema_name=s)
                   for s in deletion.databases_dropped],
        backup=cert.BackupEvidence(bucket=terms.bucket,
                                   manifest_key=backup.manifest,
                                   manifest_sha256=backup.manifest_sha256),
        receipt=cert.ReceiptEvidence(confirmed_by=receipt.confirmed_by,
                                     confirmed_at=receipt.confirmed_at),
        request=cert.RequestEvidence(ticket=request.ticket, requested_by=request.requested_by,
                                     requested_at=request.requested_at) if request else None,
        deletion_started_at=deletion.started_at,
        deletion_completed_at=completed_at,
        operator_version=__version__,
    )
    return cert.with_summary(certificate, exit.spec.customer.language)


def store_certificate(exit: TenantExit, ctx: Context,
                      completed_at: datetime) -> a.RecordCertificate:
    certificate = build_certificate(exit, completed_at)
    client, bucket = open_bucket(exit.spec.destination, ctx)
    assert exit.status.backup and exit.status.backup.manifest
    key = cert.certificate_key(exit.status.backup.manifest)
    digest = cert.write_certificate(client, bucket, key, certificate)
    signature = write_signature(client, bucket, key, certificate.to_bytes(), signing(ctx))
    return a.RecordCertificate(completed_at=completed_at, summary=certificate.summary(),
                               key=key, sha256=digest, signature=signature)
