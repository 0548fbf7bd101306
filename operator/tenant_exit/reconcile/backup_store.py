"""The operator's own dealings with the backup bucket: verify what the worker
reported, deliver it to the customer, and store the certificate of destruction.

Credentials come from the destination Secret outside the tenant namespace and
stay in the S3 client; presigned links go only into the links Secret.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from tenant_exit import __version__
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.spec import Destination
from tenant_exit.kube import delivery, secrets
from tenant_exit.phases import actions as a
from tenant_exit.phases.observed import BackupCheck, JobState
from tenant_exit.reconcile.context import Context
from tenant_exit.storage import certificate as cert
from tenant_exit.storage.customer_readme import write_readme
from tenant_exit.storage.manifest import read_manifest, verify_objects
from tenant_exit.storage.multipart import describe_error
from tenant_exit.storage.presign import presign_backup, presign_get
from tenant_exit.storage.s3client import make_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def open_bucket(destination: Destination | None, ctx: Context) -> tuple[S3Client, str]:
    """A client on the destination's store, with the keys of its Secret."""
    assert destination is not None, "the bucket is opened only for an exit with a destination"
    s3 = destination.s3
    keys = secrets.s3_credentials(ctx.core, s3.credentials_secret)
    client = make_client(endpoint_url=s3.endpoint, region=s3.region,
                         aws_access_key_id=keys.access_key_id,
                         aws_secret_access_key=keys.secret_access_key)
    return client, s3.bucket


def check_backup(exit: TenantExit, ctx: Context, job: JobState) -> BackupCheck | None:
    """Verify the backup the worker's summary names; None when there is no summary."""
    try:
        summary = json.loads(job.termination_message or "")
        key, reported = str(summary["manifestKey"]), str(summary["manifestSha256"])
    except (ValueError, KeyError, TypeError):
        return None
    client, bucket = open_bucket(exit.spec.destination, ctx)
    try:
        manifest, digest = read_manifest(client, bucket, key)
    except (ClientError, BotoCoreError) as error:
        problem = f"cannot read manifest s3://{bucket}/{key}: {describe_error(error)}"
        return BackupCheck(key, None, reported, problems=(problem,))
    report = verify_objects(client, bucket, key, manifest, digest)
    totals = manifest.totals
    return BackupCheck(
        manifest_key=key, manifest_sha256=report.manifest_sha256, reported_sha256=reported,
        problems=tuple(report.problems), tables=totals.tables, rows=totals.rows,
        database_bytes=totals.database_bytes, files=totals.files,
        document_bytes=totals.document_bytes,
        stored_bytes=sum(obj.size for obj in manifest.objects),
    )


def deliver(exit: TenantExit, ctx: Context, manifest_key: str, manifest_sha256: str,
            now: datetime) -> a.RecordDelivery:
    client, bucket = open_bucket(exit.spec.destination, ctx)
    manifest, _ = read_manifest(client, bucket, manifest_key)
    readme_key = write_readme(client, bucket, manifest_key, manifest, manifest_sha256)
    seconds = ctx.settings.download_link_seconds
    links = [
        {"key": link.key, "file": link.key.rsplit("/", 1)[-1], "url": link.url,
         "size": link.size, "sha256": link.sha256}
        for link in presign_backup(client, bucket, manifest_key, expires_in=seconds,
                                   manifest=manifest)
    ]
    links.append({"key": readme_key, "file": readme_key.rsplit("/", 1)[-1],
                  "url": presign_get(client, bucket, readme_key, seconds),
                  "size": None, "sha256": None})
    expires_at = now + timedelta(seconds=seconds)
    where = delivery.write_links(ctx.core, ctx.settings.operator_namespace, exit.owner, links,
                                 expires_at)
    return a.RecordDelivery(download_secret=where, links_expire_at=expires_at, readme=readme_key)


def build_certificate(exit: TenantExit, completed_at: datetime) -> cert.DestructionCertificate:
    status = exit.status
    backup, receipt, deletion = status.backup, status.receipt, status.deletion
    assert backup and backup.manifest and backup.manifest_sha256 and exit.spec.destination
    assert receipt and receipt.confirmed_at and receipt.confirmed_by
    assert deletion and deletion.started_at and deletion.databases_dropped is not None
    db = exit.spec.database
    return cert.DestructionCertificate(
        exit_name=exit.name,
        exit_uid=exit.metadata.uid,
        namespace=cert.DestroyedNamespace(name=exit.spec.tenant_namespace,
                                          uid=deletion.namespace_uid or "unknown"),
        volumes=[
            cert.DestroyedVolume(persistent_volume=v.persistent_volume, claim=v.claim,
                                 capacity=v.capacity, reclaim_policy_at_deletion="Delete")
            for v in deletion.volumes or []
        ],
        databases=[cert.DroppedDatabase(server=f"{db.host}:{db.port}", schema_name=s)
                   for s in deletion.databases_dropped],
        backup=cert.BackupEvidence(bucket=exit.spec.destination.s3.bucket,
                                   manifest_key=backup.manifest,
                                   manifest_sha256=backup.manifest_sha256),
        receipt=cert.ReceiptEvidence(confirmed_by=receipt.confirmed_by,
                                     confirmed_at=receipt.confirmed_at),
        deletion_started_at=deletion.started_at,
        deletion_completed_at=completed_at,
        operator_version=__version__,
    )


def store_certificate(exit: TenantExit, ctx: Context,
                      completed_at: datetime) -> a.RecordCertificate:
    certificate = build_certificate(exit, completed_at)
    client, bucket = open_bucket(exit.spec.destination, ctx)
    assert exit.status.backup and exit.status.backup.manifest
    key = cert.certificate_key(exit.status.backup.manifest)
    digest = cert.write_certificate(client, bucket, key, certificate)
    return a.RecordCertificate(completed_at=completed_at, summary=certificate.summary(),
                               key=key, sha256=digest)
