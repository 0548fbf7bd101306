"""The run Job's work against real MariaDB/MySQL and a real S3 server: Parquet read back
equals the SELECT, identifying values never leave, pseudonyms, schema drift.

Every test runs on both database families (`db_server`: MariaDB and Oracle MySQL).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tenant_exit.api.datamodel import DataModelSpec
from tenant_exit.extraction.pseudonym import Pseudonymiser
from tenant_exit.extraction.run import SchemaDrift, run_extraction
from tenant_exit.worker.progress import ProgressLog
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import SeedReport, seed_tenant
from tests.support.extraction import (
    TEST_KEY,
    all_objects,
    read_manifest,
    read_parquet,
    run_settings,
    sample_model,
)

T1 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
T2 = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def _log() -> ProgressLog:
    return ProgressLog(interval=60)


def _source_rows(db_server: DatabaseServer, schema: str, query: str) -> list[tuple]:
    with db_server.connect(schema) as conn, conn.cursor() as cur:
        cur.execute(query)
        return list(cur.fetchall())


def test_the_sample_model_round_trips_and_publishes_nothing_identifying(
        db_server: DatabaseServer, s3_server: S3Server, seeded_tenant: SeedReport,
        fresh_bucket: str) -> None:
    model = sample_model().spec
    settings = run_settings(db_server, s3_server, schema=seeded_tenant.schema,
                            bucket=fresh_bucket, model=model, scheduled_at=T1, csv=True)
    summary = run_extraction(settings, s3_server.client(), _log())

    manifest = read_manifest(s3_server, fresh_bucket, summary.manifest_key)
    assert manifest["model"]["version"] == "1.0.0"
    assert manifest["source"]["serverVersion"] == db_server.version
    key = Pseudonymiser(TEST_KEY.encode(), 1)
    for table in model.tables:
        source = _source_rows(db_server, seeded_tenant.schema, table.query)
        entry = next(f for f in manifest["files"]
                     if f.get("table") == table.name and f["format"] == "parquet")
        read = read_parquet(s3_server, fresh_bucket, entry["key"])
        assert read.num_rows == len(source) == manifest["tables"][table.name]
        published = [(i, c) for i, c in enumerate(table.columns) if c.published]
        assert read.column_names == [c.name for _, c in published]
        for index, column in published:
            values = read.column(column.name).to_pylist()
            expected = [row[index] for row in source]
            if column.classification == "pseudonymised":
                expected = [key.pseudonym(column.domain or column.name, v) for v in expected]
            elif column.transform == "birthYear":
                expected = [v.year for v in expected]
            elif column.transform == "postcodeArea":
                expected = [v[:4] for v in expected]
            assert values == expected, f"{table.name}.{column.name}"

    # No identifying source value in any object of the run: BSN, names, phone,
    # street, full postcode, free text.
    identifying = _source_rows(
        db_server, seeded_tenant.schema,
        "SELECT bsn, first_name, last_name, full_name, phone, street, postal_code FROM clients")
    needles = {str(v) for row in identifying for v in row if v and len(str(v)) >= 5}
    needles |= {str(r[0]) for r in _source_rows(
        db_server, seeded_tenant.schema, "SELECT notes FROM appointments WHERE notes IS NOT NULL")}
    objects = all_objects(s3_server, fresh_bucket)
    assert len(objects) > 10
    for object_key, data in objects.items():
        text = data.decode("utf-8", "replace")
        leaked = [n for n in needles if n in text]
        assert leaked == [], f"{object_key} contains identifying values {leaked[:3]}"


def test_types_survive_exactly(db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str,
                               fresh_bucket: str) -> None:
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {fresh_schema}")
        cur.execute(f"CREATE TABLE {fresh_schema}.measurements (id INT PRIMARY KEY, "
                    "born DATE NOT NULL, at DATETIME(6) NOT NULL, amount DECIMAL(18,6) NOT NULL, "
                    "details JSON NULL, flag TINYINT(1) NOT NULL) ENGINE=InnoDB")
        cur.executemany(
            f"INSERT INTO {fresh_schema}.measurements VALUES (%s,%s,%s,%s,%s,%s)",
            [(1, "1931-05-17", "1969-12-31 23:59:59.999999", "123456789012.345678",
              '{"a": [1, 2]}', 1),
             (2, "1900-01-01", "2026-03-29 02:30:00.000001", "-0.000001", None, 0),
             (3, "1970-01-01", "1970-01-01 00:00:00.000000", "0.100000", '"x"', 1)])
    model = DataModelSpec.model_validate({
        "version": "1.0.0", "title": "types",
        "tables": [{
            "name": "measurements", "description": "Type round trip.",
            "query": "SELECT id, born, at, amount, details, flag FROM measurements ORDER BY id",
            "columns": [
                {"name": "id", "type": "integer", "nullable": False, "classification": "plain",
                 "description": "Id."},
                {"name": "born", "type": "date", "nullable": False, "classification": "sensitive",
                 "description": "Birth date."},
                {"name": "at", "type": "timestamp", "nullable": False,
                 "classification": "plain", "description": "Microsecond time."},
                {"name": "amount", "type": "decimal(18,6)", "nullable": False,
                 "classification": "plain", "description": "Exact amount."},
                {"name": "details", "type": "json", "classification": "plain",
                 "description": "JSON document."},
                {"name": "flag", "type": "boolean", "nullable": False, "classification": "plain",
                 "description": "A flag."},
            ]}],
    })
    settings = run_settings(db_server, s3_server, schema=fresh_schema, bucket=fresh_bucket,
                            model=model, scheduled_at=T1, rows_per_group=2)
    summary = run_extraction(settings, s3_server.client(), _log())
    manifest = read_manifest(s3_server, fresh_bucket, summary.manifest_key)
    entry = next(f for f in manifest["files"] if f.get("table") == "measurements")
    assert entry["rowGroups"] == 2  # streamed: 3 rows in groups of 2
    read = read_parquet(s3_server, fresh_bucket, entry["key"])
    assert str(read.schema.field("amount").type) == "decimal128(18, 6)"
    assert str(read.schema.field("at").type) == "timestamp[us]"
    assert str(read.schema.field("born").type) == "date32[day]"
    assert read.column("born").to_pylist() == [date(1931, 5, 17), date(1900, 1, 1),
                                               date(1970, 1, 1)]
    assert read.column("at").to_pylist() == [datetime(1969, 12, 31, 23, 59, 59, 999999),
                                             datetime(2026, 3, 29, 2, 30, 0, 1),
                                             datetime(1970, 1, 1)]
    assert read.column("amount").to_pylist() == [Decimal("123456789012.345678"),
                                                 Decimal("-0.000001"), Decimal("0.100000")]
    details = read.column("details").to_pylist()
    assert details[1] is None and json.loads(details[0]) == {"a": [1, 2]}
    assert read.column("flag").to_pylist() == [True, False, True]


def _client_ids(s3_server: S3Server, bucket: str, manifest_key: str) -> list[str]:
    manifest = read_manifest(s3_server, bucket, manifest_key)
    entry = next(f for f in manifest["files"] if f.get("table") == "clients")
    return list(read_parquet(s3_server, bucket, entry["key"]).column("clientObjectId")
                .to_pylist())


def test_pseudonyms_are_stable_across_runs_and_change_with_the_key_version(
        db_server: DatabaseServer, s3_server: S3Server, seeded_tenant: SeedReport,
        fresh_bucket: str) -> None:
    model = sample_model().spec
    client = s3_server.client()
    first = run_extraction(run_settings(db_server, s3_server, schema=seeded_tenant.schema,
                                        bucket=fresh_bucket, model=model, scheduled_at=T1),
                           client, _log())
    second = run_extraction(run_settings(db_server, s3_server, schema=seeded_tenant.schema,
                                         bucket=fresh_bucket, model=model, scheduled_at=T2),
                            client, _log())
    rotated = run_extraction(run_settings(
        db_server, s3_server, schema=seeded_tenant.schema, bucket=fresh_bucket, model=model,
        scheduled_at=datetime(2026, 12, 3, 3, 0, tzinfo=UTC),
        key="another-key-for-version-two-0123456789", key_version=2), client, _log())
    ids1 = _client_ids(s3_server, fresh_bucket, first.manifest_key)
    ids2 = _client_ids(s3_server, fresh_bucket, second.manifest_key)
    ids3 = _client_ids(s3_server, fresh_bucket, rotated.manifest_key)
    assert ids1 == ids2 and len(set(ids1)) == len(ids1)
    assert all(i.startswith("k1_") for i in ids1)
    assert all(i.startswith("k2_") for i in ids3) and not set(ids3) & set(ids1)


def test_a_dropped_source_column_is_schema_drift_and_writes_nothing(
        db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str,
        fresh_bucket: str) -> None:
    seed_tenant(db_server, fresh_schema, clients=6, documents_dir=None, files=0, seed=3)
    model = sample_model().spec
    client = s3_server.client()
    good = run_extraction(run_settings(db_server, s3_server, schema=fresh_schema,
                                       bucket=fresh_bucket, model=model, scheduled_at=T1),
                          client, _log())
    before = set(all_objects(s3_server, fresh_bucket))
    with db_server.connect(fresh_schema) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE care_plans DROP COLUMN status")
        cur.execute("ALTER TABLE invoices ADD COLUMN iban VARCHAR(34) NULL")
    with pytest.raises(SchemaDrift) as drift:
        run_extraction(run_settings(db_server, s3_server, schema=fresh_schema,
                                    bucket=fresh_bucket, model=model, scheduled_at=T2),
                       client, _log())
    assert any(p.startswith("table care_allocations, column status:")
               and "care_plans.status" in p for p in drift.value.problems), drift.value.problems
    assert set(all_objects(s3_server, fresh_bucket)) == before  # nothing written
    latest = read_manifest(s3_server, fresh_bucket, "care/latest/manifest.json")
    assert latest["scheduledAt"].startswith("2026-12-01")  # the last good run stays published

    with db_server.connect(fresh_schema) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE care_plans ADD COLUMN status "
                    "ENUM('concept','actief','afgesloten') NOT NULL DEFAULT 'actief'")
    restored = run_extraction(run_settings(db_server, s3_server, schema=fresh_schema,
                                           bucket=fresh_bucket, model=model, scheduled_at=T2),
                              client, _log())
    assert restored.manifest_key != good.manifest_key
    assert "invoices.iban" in restored.new_source_columns  # reported, never extracted
    manifest = read_manifest(s3_server, fresh_bucket, restored.manifest_key)
    entry = next(f for f in manifest["files"] if f.get("table") == "invoices")
    assert "iban" not in read_parquet(s3_server, fresh_bucket, entry["key"]).column_names


def test_the_model_description_is_published_and_linked(
        db_server: DatabaseServer, s3_server: S3Server, seeded_tenant: SeedReport,
        fresh_bucket: str) -> None:
    model = sample_model().spec
    summary = run_extraction(run_settings(db_server, s3_server, schema=seeded_tenant.schema,
                                          bucket=fresh_bucket, model=model, scheduled_at=T1),
                             s3_server.client(), _log())
    manifest = read_manifest(s3_server, fresh_bucket, summary.manifest_key)
    docs = manifest["documentation"]
    objects = all_objects(s3_server, fresh_bucket)
    markdown = objects[docs["datamodel.md"]].decode()
    assert markdown.index("no client documents") < markdown.index("## Tables")
    assert "not a retention archive" in markdown and "cannot restore the application" in markdown
    svg = objects[docs["datamodel.svg"]].decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for table in model.tables:
        assert f"<title>{table.name}</title>" in svg, table.name
        assert f"## {table.name}" in markdown
    assert json.loads(objects[docs["datamodel.json"]])["version"] == "1.0.0"
    assert "erDiagram" in objects[docs["datamodel.mmd"]].decode()
    for name in docs:
        assert f"care/latest/model/{name}" in objects


def test_encrypted_runs_decrypt_with_the_customer_key_and_retention_keeps_the_newest(
        db_server: DatabaseServer, s3_server: S3Server, seeded_tenant: SeedReport,
        fresh_bucket: str) -> None:
    import hashlib
    import io

    import pyarrow.parquet as pq
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    model = sample_model().spec
    client = s3_server.client()
    stamps = [datetime(2026, 12, day, 3, 0, tzinfo=UTC) for day in (1, 2, 3)]
    summaries = [run_extraction(run_settings(
        db_server, s3_server, schema=seeded_tenant.schema, bucket=fresh_bucket, model=model,
        scheduled_at=stamp, retention=2, age_recipients=[str(identity.to_public())]),
        client, _log()) for stamp in stamps]

    objects = all_objects(s3_server, fresh_bucket)
    folders = {k.split("/")[2] for k in objects if k.startswith("care/runs/")}
    assert folders == {"2026-12-02T03-00-00Z", "2026-12-03T03-00-00Z"}  # the oldest removed
    manifest = read_manifest(s3_server, fresh_bucket, summaries[-1].manifest_key)
    entry = next(f for f in manifest["files"] if f.get("table") == "invoices")
    stored = objects[entry["key"]]
    assert entry["key"].endswith(".parquet.age") and not stored.startswith(b"PAR1")
    assert hashlib.sha256(stored).hexdigest() == entry["sha256"]
    plain = pyrage.decrypt(stored, [identity])
    assert hashlib.sha256(plain).hexdigest() == entry["plaintextSha256"]
    table = pq.read_table(io.BytesIO(plain))
    assert table.num_rows == seeded_tenant.rows["invoices"]
    assert manifest["encryption"] == {"ageRecipients": [str(identity.to_public())]}


def test_in_a_versioned_bucket_retention_removes_every_version_of_an_old_run(
        db_server: DatabaseServer, s3_server: S3Server, seeded_tenant: SeedReport,
        fresh_bucket: str) -> None:
    """A DeleteObject without a version id only hides data behind a delete marker:
    the removed run must leave no version behind, in runs/ or in latest/."""
    client = s3_server.client()
    client.put_bucket_versioning(Bucket=fresh_bucket,
                                 VersioningConfiguration={"Status": "Enabled"})
    model = sample_model().spec
    for day in (1, 2, 3):
        run_extraction(run_settings(
            db_server, s3_server, schema=seeded_tenant.schema, bucket=fresh_bucket,
            model=model, scheduled_at=datetime(2026, 12, day, 3, 0, tzinfo=UTC), retention=2),
            client, _log())

    listing = client.list_object_versions(Bucket=fresh_bucket, Prefix="care/")
    stored = [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]
    assert not listing.get("IsTruncated")
    folders = {v["Key"].split("/")[2] for v in stored if v["Key"].startswith("care/runs/")}
    assert folders == {"2026-12-02T03-00-00Z", "2026-12-03T03-00-00Z"}
    assert all(v["IsLatest"] for v in stored if v["Key"].startswith("care/latest/")), \
        "no superseded copy of an older run is left under latest/"
    latest = read_manifest(s3_server, fresh_bucket, "care/latest/manifest.json")
    assert latest["scheduledAt"].startswith("2026-12-03"), latest["scheduledAt"]


def test_a_new_model_version_is_in_the_changelog(
        db_server: DatabaseServer, s3_server: S3Server, seeded_tenant: SeedReport,
        fresh_bucket: str) -> None:
    first = sample_model().spec
    body = first.model_dump(by_alias=True, exclude_none=True)
    body["version"] = "1.1.0"
    body["releaseNotes"] = "Invoices drop the VAT rate."
    invoices = next(t for t in body["tables"] if t["name"] == "invoices")
    invoices["columns"] = [c for c in invoices["columns"] if c["name"] != "vatRate"]
    invoices["query"] = invoices["query"].replace(" i.vat_rate AS vatRate,", "")
    second = DataModelSpec.model_validate(body)
    client = s3_server.client()
    run_extraction(run_settings(db_server, s3_server, schema=seeded_tenant.schema,
                                bucket=fresh_bucket, model=first, scheduled_at=T1),
                   client, _log())
    summary = run_extraction(run_settings(db_server, s3_server, schema=seeded_tenant.schema,
                                          bucket=fresh_bucket, model=second, scheduled_at=T2),
                             client, _log())
    manifest = read_manifest(s3_server, fresh_bucket, summary.manifest_key)
    changelog = all_objects(s3_server, fresh_bucket)[
        manifest["documentation"]["changelog.md"]].decode()
    assert "## 1.1.0 (was 1.0.0)" in changelog and "## 1.0.0" in changelog
    assert "- `invoices.vatRate` removed" in changelog
    assert "Invoices drop the VAT rate." in changelog
    assert changelog.index("1.1.0") < changelog.index("## 1.0.0")
