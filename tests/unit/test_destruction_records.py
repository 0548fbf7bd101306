"""The customer README and the certificate of destruction render the facts they are given."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tenant_exit.storage.certificate import (
    BackupEvidence,
    DestroyedNamespace,
    DestroyedVolume,
    DestructionCertificate,
    DroppedDatabase,
    ReceiptEvidence,
    certificate_key,
)
from tenant_exit.storage.customer_readme import attempt_folder, render_readme
from tenant_exit.storage.manifest import (
    DatabaseRecord,
    DocumentsRecord,
    Encryption,
    Manifest,
    ObjectKind,
    StoredObject,
    Totals,
)

T0 = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _manifest() -> Manifest:
    return Manifest(
        exit_name="zorggroep-noord",
        attempt=2,
        started_at=T0,
        completed_at=T0,
        encryption=Encryption(recipients=["age1" + "q" * 58]),
        objects=[
            StoredObject(
                key="exits/zorggroep-noord/attempt-2/database-ons.sql.zst.age",
                kind=ObjectKind.DATABASE, name="ons", content="application/sql",
                size=2048, sha256="a" * 64, plaintext_bytes=9000, plaintext_sha256="b" * 64,
            )
        ],
        database=DatabaseRecord(
            server_version="10.11", dump_tool="mysqldump", dump_options=["--single-transaction"],
            exclude_patterns=["*.audit_*"], exclusion_reason="logging is not medical data",
            schemas=[],
        ),
        documents=[
            DocumentsRecord(claim="client-documents", object_key="k", files=3, bytes=10,
                            exclude_patterns=["import/**"], exclusion_reason="import files")
        ],
        totals=Totals(tables=7, rows=1234, database_bytes=9000, files=3, document_bytes=10),
    )


def test_readme_says_it_cannot_restore_and_quotes_the_digest() -> None:
    text = render_readme(_manifest(), "exits/zorggroep-noord/attempt-2/manifest.json", "c" * 64)

    assert "CANNOT RESTORE THE APPLICATION" in text
    assert "c" * 64 in text
    assert "database-ons.sql.zst.age" in text and "a" * 64 in text
    assert "7 tables, 1234 rows, 3 documents" in text
    assert "*.audit_*" in text and "import/**" in text
    assert "age --decrypt" in text


def test_readme_names_the_exact_attempt_folder_to_download() -> None:
    """The spec's prefix holds every attempt; only this manifest's folder is the backup."""
    key = "exits/zorggroep-noord/attempt-2/manifest.json"
    text = render_readme(_manifest(), key, "c" * 64, bucket="tenant-exits")
    assert "aws s3 cp --recursive s3://tenant-exits/exits/zorggroep-noord/attempt-2/ " in text
    assert "attempt-1" not in text
    assert "tenant-exit load manifest.json" in text
    assert "deletion-certificate.json" in text
    assert attempt_folder(key) == "exits/zorggroep-noord/attempt-2/"


def _certificate() -> DestructionCertificate:
    return DestructionCertificate(
        exit_name="zorggroep-noord",
        exit_uid="uid-1",
        namespace=DestroyedNamespace(name="tenant-zorggroep-noord", uid="ns-uid"),
        volumes=[DestroyedVolume(persistent_volume="pv-1", claim="tenant-zorggroep-noord/docs",
                                 capacity="1Gi", reclaim_policy_at_deletion="Delete")],
        databases=[DroppedDatabase(server="db:3306", schema_name="ons")],
        backup=BackupEvidence(bucket="b", manifest_key="m", manifest_sha256="d" * 64),
        receipt=ReceiptEvidence(confirmed_by="it@zorggroep-noord.nl", confirmed_at=T0),
        deletion_started_at=T0,
        deletion_completed_at=T0,
        operator_version="0.1.0",
    )


def test_certificate_serialises_camel_case_and_is_stable() -> None:
    cert = _certificate()
    data = json.loads(cert.to_bytes())

    assert data["namespace"] == {"name": "tenant-zorggroep-noord", "uid": "ns-uid"}
    assert data["volumes"][0]["persistentVolume"] == "pv-1"
    assert data["databases"][0]["schemaName"] == "ons"
    assert data["backup"]["manifestSha256"] == "d" * 64
    assert cert.sha256() == _certificate().sha256()
    assert "tenant-zorggroep-noord" in cert.summary()


def test_certificate_sits_next_to_the_manifest() -> None:
    key = certificate_key("p/x/attempt-3/manifest.json")
    assert key == "p/x/attempt-3/deletion-certificate.json"
    assert certificate_key("manifest.json") == "deletion-certificate.json"
