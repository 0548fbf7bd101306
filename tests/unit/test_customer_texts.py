"""The customer's texts in Dutch and English: README.txt, the receipt procedure
in it, and the certificate's human summary (pure rendering)."""

from __future__ import annotations

import json
import re
import string
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tenant_exit.storage import texts_en, texts_nl
from tenant_exit.storage.certificate import (
    BackupEvidence,
    DestroyedNamespace,
    DestructionCertificate,
    ReceiptEvidence,
    RequestEvidence,
    with_summary,
)
from tenant_exit.storage.customer_readme import render_readme
from tenant_exit.storage.manifest import (
    Encryption,
    Manifest,
    ObjectKind,
    RequestRecord,
    StoredObject,
    Totals,
)
from tenant_exit.storage.texts import texts_for

T0 = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
REQUESTED = datetime(2027, 2, 3, 9, 15, tzinfo=UTC)
KEY = "ed25519:" + "K" * 43 + "="
MANIFEST_KEY = "exits/zorggroep-noord/attempt-1/manifest.json"


def manifest(request: RequestRecord | None = None) -> Manifest:
    return Manifest(
        exit_name="zorggroep-noord", attempt=1, started_at=T0, completed_at=T0, request=request,
        encryption=Encryption(recipients=["age1" + "q" * 58]),
        objects=[StoredObject(key="exits/zorggroep-noord/attempt-1/database-ons.sql.zst.age",
                              kind=ObjectKind.DATABASE, name="ons", content="application/sql",
                              size=2048, sha256="a" * 64, plaintext_bytes=9000,
                              plaintext_sha256="b" * 64)],
        totals=Totals(tables=7, rows=1234, database_bytes=9000, files=3, document_bytes=10),
    )


REQUEST = RequestRecord(ticket="ZD-48213", requested_by="j.jansen@zorggroep-noord.nl",
                        requested_at=REQUESTED)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("field", [f.name for f in fields(texts_en.TEXTS)])
def test_both_catalogues_fill_in_the_same_facts(field: str) -> None:
    english, dutch = getattr(texts_en.TEXTS, field), getattr(texts_nl.TEXTS, field)
    assert placeholders(english) == placeholders(dutch), field
    if field != "language":
        assert english != dutch, f"{field} is not translated"


def test_a_dutch_readme_has_the_same_steps_and_commands_as_the_english_one() -> None:
    english = render_readme(manifest(REQUEST), MANIFEST_KEY, "c" * 64, KEY, "tenant-exits", "en")
    dutch = render_readme(manifest(REQUEST), MANIFEST_KEY, "c" * 64, KEY, "tenant-exits", "nl")

    assert "MET DEZE BACK-UP KUNT U DE APPLICATIE NIET HERSTELLEN" in dutch
    assert "Bevestig de ontvangst" in dutch and "Controleer de handtekening" in dutch
    assert "LET OP: deze back-up is alleen versleuteld voor klassieke" in dutch
    assert "CANNOT RESTORE" not in dutch and "Confirm receipt" not in dutch
    assert "CANNOT RESTORE THE APPLICATION" in english

    def commands(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines()
                if re.match(r"\s+(tenant-exit|age|aws) ", line)]
    assert commands(dutch) == commands(english)
    assert f"tenant-exit verify --public-key {KEY} --directory . manifest.json" in dutch
    steps = [line for line in dutch.splitlines() if re.match(r"\d\. ", line)]
    assert [s[:2] for s in steps] == ["0.", "1.", "2.", "3.", "4.", "5.", "6."]
    for text in (english, dutch):
        assert "c" * 64 in text and "a" * 64 in text and "ZD-48213" in text
        assert "j.jansen@zorggroep-noord.nl" in text and "2027-02-03T09:15:00+00:00" in text


def test_the_readme_says_so_when_no_request_was_recorded() -> None:
    assert "No request reference was recorded" in render_readme(
        manifest(), MANIFEST_KEY, "c" * 64, KEY)
    assert "geen verzoekreferentie vastgelegd" in render_readme(
        manifest(), MANIFEST_KEY, "c" * 64, KEY, language="nl")


def test_an_unknown_language_falls_back_to_english() -> None:
    assert texts_for("de") is texts_en.TEXTS
    assert texts_for("nl") is texts_nl.TEXTS


def certificate(request: RequestEvidence | None) -> DestructionCertificate:
    return DestructionCertificate(
        exit_name="zorggroep-noord", exit_uid="uid-1",
        namespace=DestroyedNamespace(name="tenant-zorggroep-noord", uid="ns-uid"),
        volumes=[], databases=[],
        backup=BackupEvidence(bucket="b", manifest_key="m", manifest_sha256="d" * 64),
        receipt=ReceiptEvidence(confirmed_by="it@zorggroep-noord.nl", confirmed_at=T0),
        request=request, deletion_started_at=T0, deletion_completed_at=T0,
        operator_version="0.1.0",
    )


def test_the_certificate_summary_is_in_the_customers_language_and_keys_stay_english() -> None:
    request = RequestEvidence(ticket="ZD-48213", requested_by="j.jansen@zorggroep-noord.nl",
                              requested_at=REQUESTED)
    dutch = with_summary(certificate(request), "nl")
    data = json.loads(dutch.to_bytes())

    assert data["language"] == "nl"
    assert data["summaryText"].startswith("Verklaring van vernietiging voor zorggroep-noord")
    assert "onomkeerbaar verwijderd" in data["summaryText"]
    assert "ticket ZD-48213 door j.jansen@zorggroep-noord.nl" in data["summaryText"]
    assert "d" * 64 in data["summaryText"] and "tenant-zorggroep-noord" in data["summaryText"]
    assert data["request"] == {"ticket": "ZD-48213",
                               "requestedBy": "j.jansen@zorggroep-noord.nl",
                               "requestedAt": "2027-02-03T09:15:00Z"}
    assert {"statement", "namespace", "receipt", "backup"} <= data.keys()
    assert dutch.summary().endswith("; requested in ZD-48213")

    english = json.loads(with_summary(certificate(None), "en").to_bytes())
    assert english["language"] == "en" and english["request"] is None
    assert english["summaryText"].startswith("Certificate of destruction for zorggroep-noord")
    assert "No request reference was recorded" in english["summaryText"]
    assert "requested in" not in certificate(None).summary()
    assert with_summary(certificate(request), "nl").sha256() == dutch.sha256()


def shell_commands(markdown: str) -> list[str]:
    """The lines of the ```sh blocks, without their trailing comments."""
    blocks = re.findall(r"```sh\n(.*?)```", markdown, flags=re.S)
    lines = [line.split("   #")[0].rstrip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_the_dutch_receipt_procedure_gives_the_same_commands() -> None:
    root = Path(__file__).resolve().parents[2] / "docs"
    english = (root / "customer-receipt.md").read_text()
    dutch = (root / "customer-receipt.nl.md").read_text()
    assert len(shell_commands(english)) > 10
    assert shell_commands(dutch) == shell_commands(english)
    headings = [h for h in dutch.splitlines() if h.startswith("## ")]
    assert headings == ["## Wat u ontvangt", "## 1. Downloaden",
                        "## 2. Handtekening en controlegetallen controleren",
                        "## 3. Ontsleutelen en uitpakken",
                        "## 4. Controlegetallen van de ontsleutelde bestanden controleren",
                        "## 5. Ontvangst bevestigen", "## 6. De gegevens lezen",
                        "## 7. De verklaring van vernietiging"]
    assert len(headings) == len([h for h in english.splitlines() if h.startswith("## ")])


@pytest.mark.parametrize(("language", "verified", "unknown"), [
    ("en", "3 tables (120 rows", "NOT test-loaded into a database server (TooLarge)"),
    ("nl", "3 tabellen (120 rijen", "NIET proefgeladen in een databaseserver (TooLarge)"),
])
def test_the_readme_summarises_the_restore_test_and_still_says_no_restore(
        language: str, verified: str, unknown: str) -> None:
    from tenant_exit.storage.manifest import RestoreVerification, TableCheck

    tables = [TableCheck(schema_name="ons", name=f"t{i}", method="checksum-table",
                         source_rows=40, scratch_rows=40, source_digest="1", scratch_digest="1",
                         matches=True, seconds=0.1) for i in range(3)]
    done = manifest().model_copy(update={"verification": RestoreVerification(
        mode="Required", status="Verified", reason="RestoreMatches", scratch_family="mysql",
        scratch_version="8.0.36", tables=tables)})
    readme = render_readme(done, MANIFEST_KEY, "a" * 64, "pk", language=language)
    assert verified in readme and "mysql 8.0.36" in readme
    assert ("cannot" if language == "en" else "hersteld kan worden: dat kan niet") in \
        readme.split(verified)[1]
    skipped = manifest().model_copy(update={"verification": RestoreVerification(
        mode="BestEffort", status="Unknown", reason="TooLarge")})
    assert unknown in render_readme(skipped, MANIFEST_KEY, "a" * 64, "pk", language=language)
    assert "Restore test" not in render_readme(manifest(), MANIFEST_KEY, "a" * 64, "pk")
