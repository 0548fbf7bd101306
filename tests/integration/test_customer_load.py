"""`tenant-exit load`, the customer's command, on a real archive: the worker backs a
seeded tenant up to S3, the files are downloaded like a customer downloads them,
and the command loads them into a fresh server as an account without SUPER (or
SET USER), then reports the manifest's row counts.

Family-agnostic: the source is `db_server` and the target a fresh private server
of the same family, loaded with that family's own client: it runs on MariaDB
and on MySQL.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyrage
import pytest

from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.families import PrivateServer, server_type
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import FUNCTIONS, PROCEDURES, TRIGGERS, VIEWS, seed_tenant
from tests.support.backups import object_keys, open_object, run_worker, worker_env

LOADER = "archivist"


@dataclass
class Target:
    server: PrivateServer
    client: str
    password: str


@pytest.fixture(scope="module")
def target(db_server: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Target]:
    """A fresh server of the source's family (no accounts but root) with a loading
    account that may do anything inside `archive_*` schemas and nothing server-wide."""
    server = server_type(db_server.family)(workdir=Path(tmp_path_factory.mktemp("target")))
    server.start()
    password = secrets.token_urlsafe(12)
    with server.connect() as conn, conn.cursor() as cur:
        if db_server.family == "mysql":
            # The harness's MySQL writes a binary log (as managed 8.0 does): without
            # this a non-SUPER account cannot create functions (customer-receipt.md).
            cur.execute("SET GLOBAL log_bin_trust_function_creators = 1")
        cur.execute(f"CREATE USER '{LOADER}'@'%%' IDENTIFIED BY %s", (password,))
        cur.execute(f"GRANT ALL PRIVILEGES ON `archive\\_%`.* TO '{LOADER}'@'%'")
        cur.execute(f"SHOW GRANTS FOR '{LOADER}'@'%'")
        grants = " ".join(row[0] for row in cur.fetchall())
    assert "SUPER" not in grants and "SET USER" not in grants, grants
    try:
        yield Target(server, server.client_tool, password)
    finally:
        server.stop()


@pytest.fixture
def downloaded(db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str,
               fresh_bucket: str, tmp_path: Path) -> dict:
    """A seeded tenant backed up by the worker, then every object of its attempt
    folder downloaded into one directory, as docs/customer-receipt.md says."""
    report = seed_tenant(db_server, fresh_schema, clients=40, documents_dir=tmp_path / "docs",
                         files=5, seed=7)
    identity = pyrage.x25519.Identity.generate()
    env = worker_env(db=db_server, s3=s3_server, bucket=fresh_bucket, exit_name="zorg-noord",
                     recipients=[str(identity.to_public())],
                     termination_log=tmp_path / "termination-log", databases=[fresh_schema],
                     documents=[{"name": "client-documents", "path": str(tmp_path / "docs")}])
    result = run_worker(env)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "termination-log").read_text())
    folder = summary["manifestKey"].rsplit("/", 1)[0] + "/"
    directory = tmp_path / "download"
    directory.mkdir()
    s3 = s3_server.client()
    for key in object_keys(s3, fresh_bucket, folder):
        body = s3.get_object(Bucket=fresh_bucket, Key=key)["Body"].read()
        (directory / key.rsplit("/", 1)[-1]).write_bytes(body)
    key_file = tmp_path / "identity.txt"
    key_file.write_text(f"# public key: {identity.to_public()}\n{identity}\n")
    key_file.chmod(0o600)
    manifest = json.loads((directory / "manifest.json").read_text())
    return {"directory": directory, "identity": key_file, "manifest": manifest,
            "schema": fresh_schema, "report": report}


def load(target: Target, downloaded: dict, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL", "AWS_"))}
    env["ARCHIVE_PASSWORD"] = target.password
    return subprocess.run(
        [sys.executable, "-m", "tenant_exit.cli", "load",
         str(downloaded["directory"] / "manifest.json"),
         "--identity", str(downloaded["identity"]), "--host", target.server.host,
         "--port", str(target.server.port), "--user", LOADER,
         "--password-env", "ARCHIVE_PASSWORD", "--client", target.client, *args],
        capture_output=True, text=True, timeout=600, check=False, env=env)


def rows_on(target: Target, schema: str) -> dict[str, int]:
    counts = {}
    with target.server.connect(database=schema) as conn, conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                    "AND TABLE_TYPE = 'BASE TABLE'", (schema,))
        for (table,) in cur.fetchall():
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")
            counts[table] = cur.fetchone()[0]
    return counts


def test_load_as_a_non_super_user_gives_the_manifests_row_counts(
        target: Target, downloaded: dict) -> None:
    into = f"archive_{downloaded['schema']}"
    result = load(target, downloaded, "--schema", f"{downloaded['schema']}={into}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verified: all" in result.stdout
    assert "definers: strip" in result.stdout
    assert "does not restore the application" in result.stdout

    (schema,) = downloaded["manifest"]["database"]["schemas"]
    expected = {t["name"]: t["rows"] for t in schema["tables"]}
    assert rows_on(target, into) == expected, "what the server holds equals the manifest"
    assert sum(expected.values()) > 0
    tables = len(expected)
    assert f"{into}: {tables} tables, {sum(expected.values())} rows as in the manifest" in (
        result.stdout)
    with target.server.connect(database=into) as conn, conn.cursor() as cur:
        cur.execute("SELECT TRIGGER_NAME, DEFINER FROM information_schema.TRIGGERS "
                    "WHERE TRIGGER_SCHEMA = %s", (into,))
        triggers = dict(cur.fetchall())
        cur.execute("SELECT ROUTINE_NAME FROM information_schema.ROUTINES "
                    "WHERE ROUTINE_SCHEMA = %s", (into,))
        routines = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s",
                    (into,))
        views = {r[0] for r in cur.fetchall()}
    assert set(TRIGGERS) <= set(triggers)
    assert {d.split("@")[0] for d in triggers.values()} == {LOADER}, "the loader defines them"
    assert set(FUNCTIONS) | set(PROCEDURES) <= routines
    assert set(VIEWS) <= views


def test_keeping_the_source_definers_needs_a_privilege_the_loader_lacks(
        target: Target, downloaded: dict) -> None:
    """Why the default strips them: as dumped, the load stops at the first object
    defined by another account."""
    result = load(target, downloaded, "--schema",
                  f"{downloaded['schema']}=archive_keep_{downloaded['schema']}",
                  "--definer", "keep")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "stopped loading" in result.stderr
    assert "SUPER" in result.stderr or "SET USER" in result.stderr, result.stderr


def test_a_file_that_does_not_verify_is_not_loaded(target: Target, downloaded: dict) -> None:
    (dump,) = downloaded["directory"].glob("database-*.sql.zst.age")
    data = bytearray(dump.read_bytes())
    data[-1] ^= 0xFF
    dump.write_bytes(bytes(data))
    into = f"archive_bad_{downloaded['schema']}"
    result = load(target, downloaded, "--schema", f"{downloaded['schema']}={into}")
    assert result.returncode == 1
    assert "NOT loaded" in result.stdout and dump.name in result.stdout
    with target.server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                    (into,))
        assert cur.fetchone()[0] == 0, "nothing was created"


def test_a_schema_that_holds_tables_is_refused(target: Target, downloaded: dict) -> None:
    into = f"archive_full_{downloaded['schema']}"
    with target.server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{into}`")
        cur.execute(f"CREATE TABLE `{into}`.`keep_me` (id INT PRIMARY KEY)")
        cur.execute(f"INSERT INTO `{into}`.`keep_me` VALUES (1)")
    result = load(target, downloaded, "--schema", f"{downloaded['schema']}={into}")
    assert result.returncode == 2
    assert "already holds 1 tables" in result.stderr
    assert rows_on(target, into) == {"keep_me": 1}


def test_the_documented_sed_route_loads_as_a_non_super_user(
        target: Target, downloaded: dict, tmp_path: Path) -> None:
    """docs/customer-receipt.md's way without the tool: age | zstd, the sed line
    that strips DEFINER clauses, then the plain client."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "customer-receipt.md").read_text()
    (sed_line,) = [line for line in doc.splitlines() if line.startswith("sed -E ")]
    expression = sed_line.split("'")[1]
    (dump,) = downloaded["directory"].glob("database-*.sql.zst.age")
    identity = pyrage.x25519.Identity.from_str(
        downloaded["identity"].read_text().splitlines()[-1])
    sql = open_object(dump.read_bytes(), identity)
    assert b"DEFINER=" in sql, "the dump has definers to strip"
    stripped = subprocess.run(["sed", "-E", expression], input=sql, capture_output=True,
                              check=True).stdout
    into = f"archive_sed_{downloaded['schema']}"
    with target.server.connect(user=LOADER, password=target.password) as conn, \
            conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{into}`")
    env = dict(os.environ, MYSQL_PWD=target.password)
    loaded = subprocess.run(
        [target.client, f"--host={target.server.host}", f"--port={target.server.port}",
         "--protocol=TCP", f"--user={LOADER}", into],
        input=stripped, capture_output=True, env=env, timeout=300, check=False)
    assert loaded.returncode == 0, loaded.stderr.decode()[-2000:]
    (schema,) = downloaded["manifest"]["database"]["schemas"]
    assert rows_on(target, into) == {t["name"]: t["rows"] for t in schema["tables"]}
