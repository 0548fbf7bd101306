"""The certificate of destruction: what was irreversibly deleted, when, and on
what evidence (the manifest digest the customer confirmed).

It is written next to the backup (`deletion-certificate.json`) so the record
travels with the archive it refers to, and summarised in the TenantExit status.
Like the manifest it names objects and counts, never patient data or secrets.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from tenant_exit.storage.manifest import beside_manifest
from tenant_exit.storage.texts import texts_for

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FORMAT = "tenant-exit-destruction-certificate/v1"
CERTIFICATE_NAME = "deletion-certificate.json"
STATEMENT = (
    "The tenant environment listed here was deleted irreversibly after the customer "
    "confirmed receipt of the backup whose manifest digest is given. The namespace and "
    "every object in it, the listed persistent volumes with their data, and the listed "
    "database schemas no longer exist on the platform."
)


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class DestroyedNamespace(_Model):
    name: str
    uid: str


class DestroyedVolume(_Model):
    persistent_volume: str
    claim: str
    """`namespace/claim` the volume was bound to."""
    capacity: str | None = None
    reclaim_policy_at_deletion: str
    """The policy in force when the claim was deleted (Delete: the data went with it)."""


class DroppedDatabase(_Model):
    server: str
    """`host:port` of the database server."""
    schema_name: str


class BackupEvidence(_Model):
    bucket: str
    manifest_key: str
    manifest_sha256: str


class ReceiptEvidence(_Model):
    confirmed_by: str
    confirmed_at: datetime


class RequestEvidence(_Model):
    """The customer's request the exit was made on (spec.request)."""

    ticket: str
    requested_by: str
    requested_at: datetime


class DestructionCertificate(_Model):
    format: str = FORMAT
    exit_name: str
    exit_uid: str
    statement: str = STATEMENT
    namespace: DestroyedNamespace
    volumes: list[DestroyedVolume]
    databases: list[DroppedDatabase]
    backup: BackupEvidence
    receipt: ReceiptEvidence
    request: RequestEvidence | None = None
    language: str = "en"
    """Language of `summaryText` (spec.customer.language); the keys stay English."""
    summary_text: str = ""
    """The certificate in plain words, in `language`, for the customer's staff."""
    deletion_started_at: datetime
    deletion_completed_at: datetime
    operator_version: str

    def to_bytes(self) -> bytes:
        return (self.model_dump_json(by_alias=True, indent=2) + "\n").encode()

    def sha256(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()

    def summary(self) -> str:
        """One line for status.deletion.certificate and the final Event."""
        return (
            f"namespace {self.namespace.name} (uid {self.namespace.uid}), "
            f"{len(self.volumes)} volume(s), {len(self.databases)} database schema(s) "
            f"destroyed at {self.deletion_completed_at.isoformat()}; receipt by "
            f"{self.receipt.confirmed_by} for manifest {self.backup.manifest_sha256[:12]}…"
            + (f"; requested in {self.request.ticket}" if self.request else "")
        )


def human_summary(certificate: DestructionCertificate, language: str) -> str:
    """The plain-text summary in `language` (texts_en / texts_nl hold the words)."""
    texts = texts_for(language)
    request = certificate.request
    request_text = texts.certificate_request.format(
        ticket=request.ticket, requested_by=request.requested_by,
        requested_at=request.requested_at.isoformat(),
    ) if request else texts.certificate_no_request
    return texts.certificate_summary.format(
        exit_name=certificate.exit_name, namespace=certificate.namespace.name,
        namespace_uid=certificate.namespace.uid, volumes=len(certificate.volumes),
        databases=len(certificate.databases),
        completed_at=certificate.deletion_completed_at.isoformat(),
        confirmed_by=certificate.receipt.confirmed_by,
        confirmed_at=certificate.receipt.confirmed_at.isoformat(),
        manifest_sha256=certificate.backup.manifest_sha256, request=request_text,
    )


def with_summary(certificate: DestructionCertificate, language: str) -> DestructionCertificate:
    """The certificate carrying its human summary in the customer's language."""
    return certificate.model_copy(update={"language": texts_for(language).language,
                                          "summary_text": human_summary(certificate, language)})


def certificate_key(manifest_key: str) -> str:
    """Next to the manifest it relies on."""
    return beside_manifest(manifest_key, CERTIFICATE_NAME)


def write_certificate(client: S3Client, bucket: str, key: str,
                      certificate: DestructionCertificate) -> str:
    """Stores the certificate (overwriting an identical earlier write is harmless:
    a retried handler writes the same facts) and returns its SHA-256."""
    body = certificate.to_bytes()
    client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return hashlib.sha256(body).hexdigest()
