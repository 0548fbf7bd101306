"""The backup worker end to end against real MariaDB and a real S3 server:
what the customer downloads, decrypts and loads equals what the tenant had."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyrage
import pytest

from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.families import DUMP_HEADER, UNTIL_WORKER_DUMPS_MYSQL
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import (
    EVENTS,
    EXCLUDED_DIRS,
    EXCLUDED_TABLES,
    FUNCTIONS,
    PROCEDURES,
    TRIGGERS,
    VIEWS,
    drop_tenant,
    seed_tenant,
)
from tests.support.backups import (
    REPO_ROOT,
    decode_object,
    extract_tar,
    file_digests,
    load_sql,
    log_events,
    multipart_uploads,
    object_keys,
    run_worker,
    schema_objects,
    table_fingerprints,
    worker_env,
)

pytestmark = UNTIL_WORKER_DUMPS_MYSQL

AWKWARD_NAME = "clients/Zoë van 't Hof/intake verslag — jan 2024 (1).pdf"


@pytest.fixture
def backup(db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str, fresh_bucket: str,
           tmp_path: Path) -> dict:
    """A seeded tenant backed up once by `tenant-exit worker backup` (a child process)."""
    docs = tmp_path / "documents"
    report = seed_tenant(db_server, fresh_schema, clients=60, documents_dir=docs, files=40, seed=11)
    awkward = docs / AWKWARD_NAME
    awkward.parent.mkdir(parents=True, exist_ok=True)
    awkward.write_bytes("verslag met accenten: éëï\n".encode() * 100)
    (docs / "clients" / "empty folder").mkdir()
    identity = pyrage.x25519.Identity.generate()
    termination = tmp_path / "termination-log"
    env = worker_env(db=db_server, s3=s3_server, bucket=fresh_bucket, exit_name="zorg-noord",
                     recipients=[str(identity.to_public())], termination_log=termination,
                     databases=[fresh_schema],
                     documents=[{"name": "client-documents", "path": str(docs)}])
    result = run_worker(env)
    assert result.returncode == 0, result.stderr[-3000:]
    return {"report": report, "docs": docs, "identity": identity, "env": env, "result": result,
            "summary": json.loads(termination.read_text()), "bucket": fresh_bucket,
            "schema": fresh_schema}


def test_database_round_trip(backup: dict, db_server: DatabaseServer, s3_server: S3Server) -> None:
    s3 = s3_server.client()
    schema = backup["schema"]
    key = f"exits/zorg-noord/attempt-1/database-{schema}.sql.zst.age"
    sql = decode_object(s3, backup["bucket"], key, backup["identity"])
    assert sql.rstrip().splitlines()[-1].startswith(b"-- Dump completed")
    # MariaDB's sandbox line (which MySQL's client rejects) is gone; the dump still
    # begins with its family's own dump header and loads below.
    first_line = sql.split(b"\n", 1)[0]
    assert b"enable the sandbox mode" not in first_line
    assert first_line.startswith(DUMP_HEADER[db_server.family])

    restored = f"{schema}_restored"
    try:
        load_sql(db_server, restored, sql)
        source = table_fingerprints(db_server, schema)
        copy = table_fingerprints(db_server, restored)
        expected = {t: v for t, v in source.items() if t not in EXCLUDED_TABLES}
        assert copy == expected  # same rows (count, ordered digest), excluded tables absent
        assert not set(copy) & set(EXCLUDED_TABLES)
        objects = schema_objects(db_server, restored)
        assert set(VIEWS) <= objects["views"]
        assert set(TRIGGERS) <= objects["triggers"]
        assert set(FUNCTIONS) | set(PROCEDURES) <= objects["routines"]
        assert set(EVENTS) <= objects["events"]
    finally:
        drop_tenant(db_server, restored)


def test_documents_round_trip(backup: dict, s3_server: S3Server, tmp_path: Path) -> None:
    s3 = s3_server.client()
    data = decode_object(s3, backup["bucket"],
                         "exits/zorg-noord/attempt-1/documents-client-documents.tar.zst.age",
                         backup["identity"])
    out = tmp_path / "extracted"
    extract_tar(data, out)
    source = {p: d for p, d in file_digests(backup["docs"]).items()
              if p.split("/")[0] not in EXCLUDED_DIRS}
    assert file_digests(out) == source  # bit-identical, excluded folders absent
    assert AWKWARD_NAME in source
    assert (out / "clients" / "empty folder").is_dir()
    for excluded in EXCLUDED_DIRS:
        assert not (out / excluded).exists()


def test_manifest_and_summary(backup: dict, db_server: DatabaseServer, s3_server: S3Server
                              ) -> None:
    s3 = s3_server.client()
    bucket, schema, summary = backup["bucket"], backup["schema"], backup["summary"]
    prefix = "exits/zorg-noord/attempt-1/"
    assert summary["manifestKey"] == prefix + "manifest.json"
    assert set(summary) == {"manifestKey", "manifestSha256", "tables", "rows", "databaseBytes",
                            "files", "documentBytes"}
    report = backup["report"]
    kept_rows = sum(n for t, n in report.rows.items() if t not in EXCLUDED_TABLES)
    assert summary["rows"] == kept_rows
    assert summary["tables"] == len(report.kept_tables)
    assert summary["files"] == report.files + 1  # the awkward file added by the fixture

    manifest = json.loads(s3.get_object(Bucket=bucket, Key=summary["manifestKey"])["Body"].read())
    assert "cannot restore" in manifest["notice"] or "NOT a restore point" in manifest["notice"]
    [schema_record] = manifest["database"]["schemas"]
    if db_server.family == "mariadb":
        # Debian's mariadb-dump 10.11.8+ writes the sandbox line; its removal is recorded.
        [note] = manifest["database"]["notes"]
        assert "enable the sandbox mode" in note and schema in note
    else:
        assert not any("sandbox" in n for n in manifest["database"]["notes"])
    assert {t["name"]: t["rows"] for t in schema_record["tables"]} == {
        t: n for t, n in report.rows.items() if t not in EXCLUDED_TABLES}
    assert {e["name"] for e in schema_record["excludedTables"]} == set(EXCLUDED_TABLES)
    assert manifest["encryption"]["recipients"] == [str(backup["identity"].to_public())]
    # Everything stored but the manifest is encrypted; nothing else lies around.
    keys = object_keys(s3, bucket)
    assert keys == sorted([prefix + "manifest.json", *(o["key"] for o in manifest["objects"])])
    assert all(k.endswith(".zst.age") for k in keys if not k.endswith("manifest.json"))
    assert {o["kind"] for o in manifest["objects"]} == {"database", "documents",
                                                        "dataDictionary"}
    assert multipart_uploads(s3, bucket) == []

    dictionary = json.loads(decode_object(
        s3, bucket, prefix + "data-dictionary.json.zst.age", backup["identity"]))
    tables = {t["name"]: t for t in dictionary["schemas"][0]["tables"]}
    assert tables["clients"]["columns"][0]["comment"]
    assert tables["audit_log"]["excludedBy"] == "*.audit_*"
    markdown = decode_object(s3, bucket, prefix + "data-dictionary.md.zst.age",
                             backup["identity"]).decode()
    assert "### Table `clients`" in markdown
    assert schema in markdown


def test_verify_detects_tampering(backup: dict, s3_server: S3Server, tmp_path: Path) -> None:
    s3 = s3_server.client()
    bucket, summary = backup["bucket"], backup["summary"]
    url = f"s3://{bucket}/{summary['manifestKey']}"
    env = {**backup["env"]}
    verify = [sys.executable, "-m", "tenant_exit.cli", "verify", url,
              "--endpoint-url", s3_server.endpoint_url, "--region", s3_server.region]
    ok = subprocess.run(verify, env=env, capture_output=True, text=True, check=False,
                        cwd=REPO_ROOT, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert summary["manifestSha256"] in ok.stdout

    key = "exits/zorg-noord/attempt-1/documents-client-documents.tar.zst.age"
    data = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    data[len(data) // 2] ^= 0x01
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(data))
    bad = subprocess.run(verify, env=env, capture_output=True, text=True, check=False,
                         cwd=REPO_ROOT, timeout=120)
    assert bad.returncode == 1
    assert f"FAILED  {key}: SHA-256" in bad.stdout


def test_progress_log_has_no_secrets(backup: dict, db_server: DatabaseServer,
                                     s3_server: S3Server) -> None:
    result = backup["result"]
    events = log_events(result.stderr)  # every line is JSON
    kinds = {e["event"] for e in events}
    assert {"start", "inventory", "progress", "object-done", "manifest", "done"} <= kinds
    text = result.stdout + result.stderr + json.dumps(backup["summary"])
    assert db_server.root_password not in text
    assert s3_server.secret_key not in text


def test_rerun_of_a_finished_attempt_reports_the_same_manifest(backup: dict, tmp_path: Path
                                                               ) -> None:
    """A pod that finished but whose report was lost runs again: same manifest, no rewrite."""
    termination = tmp_path / "again"
    result = run_worker({**backup["env"], "TENANT_EXIT_TERMINATION_LOG": str(termination)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(termination.read_text()) == backup["summary"]
    events = log_events(result.stderr)
    assert any(e["event"] == "existing-manifest-verified" for e in events)
    assert not any(e["event"] == "object-start" for e in events)


def test_invalid_configuration_is_reported_without_values(tmp_path: Path) -> None:
    termination = tmp_path / "termination-log"
    env = {"PATH": "/usr/bin:/bin", "TENANT_EXIT_TERMINATION_LOG": str(termination),
           "TENANT_EXIT_DB_PASSWORD": "pw-that-must-not-show",
           "TENANT_EXIT_AGE_RECIPIENTS": '["not-a-key-pw-that-must-not-show"]'}
    result = run_worker(env, timeout=60)
    assert result.returncode == 2
    error = json.loads(termination.read_text())["error"]
    assert "TENANT_EXIT_EXIT_NAME" in error and "TENANT_EXIT_AGE_RECIPIENTS" in error
    assert "must-not-show" not in error + result.stderr
