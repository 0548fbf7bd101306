"""Fault cases of the backup worker: each fails with a clear message, writes no
manifest and leaves no multipart parts behind. Tests that kill a server start
their own instance (the session servers stay up for everyone else)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyrage
import pytest

from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.families import UNTIL_WORKER_DUMPS_MYSQL, PrivateServer, server_type
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import seed_tenant
from tests.support.backups import (
    REPO_ROOT,
    log_events,
    multipart_uploads,
    object_keys,
    run_worker,
    worker_env,
)

pytestmark = UNTIL_WORKER_DUMPS_MYSQL

RECIPIENT = str(pyrage.x25519.Identity.generate().to_public())


def _failure(termination: Path, code: str | None = None) -> str:
    """The sentence of the worker's failure message (which has a code and nothing else)."""
    message = json.loads(termination.read_text())
    assert set(message) == {"code", "error"}
    if code is not None:
        assert message["code"] == code, message
    return str(message["error"])


def _start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tenant_exit.cli", "worker", "backup"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO_ROOT)


def _wait_for_event(proc: subprocess.Popen[str], match: Any, timeout: float = 120
                    ) -> list[dict[str, Any]]:
    """Read the worker's JSON log until `match(event)`; returns the events read."""
    assert proc.stderr is not None
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    for line in proc.stderr:
        event = json.loads(line)
        seen.append(event)
        if match(event):
            return seen
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"worker never logged the awaited event; saw {seen[-5:]}")


def test_wrong_database_password(db_server: DatabaseServer, s3_server: S3Server,
                                 fresh_bucket: str, tmp_path: Path) -> None:
    termination = tmp_path / "termination-log"
    env = worker_env(db=db_server, s3=s3_server, bucket=fresh_bucket, exit_name="wrong-pw",
                     recipients=[RECIPIENT], termination_log=termination,
                     password="not-the-password-42")
    result = run_worker(env, timeout=120)
    assert result.returncode == 1
    error = _failure(termination, code="DatabaseAccessDenied")
    assert "cannot connect to the database" in error and "Access denied" in error
    assert "not-the-password-42" not in result.stderr + error
    assert object_keys(s3_server.client(), fresh_bucket) == []


@pytest.fixture
def own_db(db_server: DatabaseServer,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateServer]:
    """A private server of `db_server`'s family, which the test may kill."""
    with server_type(db_server.family)(workdir=tmp_path_factory.mktemp("faultdb")) as server:
        yield server


@pytest.fixture
def own_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with S3Server(workdir=tmp_path_factory.mktemp("faults3")) as server:
        yield server


def _seed_big_table(db: DatabaseServer, schema: str, rows_log2: int = 14) -> None:
    """~160 MiB of hex noise (compresses only 2:1): the dump takes long enough to be killed."""
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {schema}")
        cur.execute(f"CREATE TABLE {schema}.payload (id INT AUTO_INCREMENT PRIMARY KEY, "
                    "body LONGTEXT NOT NULL) ENGINE=InnoDB")
        noise = "CONCAT(" + ", ".join(["HEX(RANDOM_BYTES(1024))"] * 5) + ")"
        cur.execute(f"INSERT INTO {schema}.payload (body) SELECT {noise}")
        for _ in range(rows_log2):
            cur.execute(f"INSERT INTO {schema}.payload (body) SELECT {noise} "
                        f"FROM {schema}.payload")


def test_database_killed_mid_dump(own_db: PrivateServer, s3_server: S3Server,
                                  fresh_bucket: str, tmp_path: Path) -> None:
    _seed_big_table(own_db, "bulk")
    termination = tmp_path / "termination-log"
    env = worker_env(db=own_db, s3=s3_server, bucket=fresh_bucket,
                     exit_name="db-killed", recipients=[RECIPIENT], termination_log=termination,
                     databases=["bulk"], TENANT_EXIT_PROGRESS_INTERVAL_SECONDS="0.05",
                     TENANT_EXIT_PART_SIZE_MIB="5")
    proc = _start_worker(env)
    try:
        _wait_for_event(proc, lambda e: e["event"] == "progress"
                        and e["object"] == "database-bulk" and e["storedBytes"] > 6 << 20)
        own_db.kill()
        proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    error = _failure(termination)
    assert "mysqldump of schema 'bulk' failed" in error, error
    s3 = s3_server.client()
    assert multipart_uploads(s3, fresh_bucket) == []  # the started upload was aborted
    assert object_keys(s3, fresh_bucket) == []  # no dump object, no manifest


def test_s3_server_stopped_mid_upload(db_server: DatabaseServer, own_s3: S3Server,
                                      tmp_path: Path) -> None:
    bucket = own_s3.create_bucket("faults")
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(12):
        (docs / f"scan-{i:02d}.bin").write_bytes(os.urandom(4 << 20))
    termination = tmp_path / "termination-log"
    env = worker_env(db=db_server, s3=own_s3, bucket=bucket, exit_name="s3-stopped",
                     recipients=[RECIPIENT], termination_log=termination,
                     documents=[{"name": "scans", "path": str(docs)}],
                     TENANT_EXIT_PROGRESS_INTERVAL_SECONDS="0.05",
                     TENANT_EXIT_PART_SIZE_MIB="5", TENANT_EXIT_S3_MAX_ATTEMPTS="2",
                     TENANT_EXIT_DB_EXCLUDE_TABLES='["*.*"]')
    proc = _start_worker(env)
    try:
        _wait_for_event(proc, lambda e: e["event"] == "progress"
                        and e["object"] == "documents-scans" and e["storedBytes"] > 6 << 20)
        own_s3.kill()
        proc.wait(180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    error = _failure(termination)
    assert "s3://faults/exits/s3-stopped/attempt-1/documents-scans.tar.zst.age" in error, error
    assert own_s3.secret_key not in error
    assert "uploadId" not in error
    # moto keeps its state in memory, so the restarted server is empty: what this
    # shows is the failure itself; leftover parts are covered by the next test.
    own_s3.start()


def test_next_attempt_aborts_stale_uploads(db_server: DatabaseServer, s3_server: S3Server,
                                           fresh_bucket: str, tmp_path: Path) -> None:
    """A worker killed hard cannot abort its upload; the next attempt does."""
    s3 = s3_server.client()
    stale_key = "exits/killed/attempt-1/database-x.sql.zst.age"
    upload = s3.create_multipart_upload(Bucket=fresh_bucket, Key=stale_key)
    s3.upload_part(Bucket=fresh_bucket, Key=stale_key, UploadId=upload["UploadId"],
                   PartNumber=1, Body=b"x" * 1024)
    other = s3.create_multipart_upload(Bucket=fresh_bucket, Key="exits/other-exit/a")
    termination = tmp_path / "termination-log"
    env = worker_env(db=db_server, s3=s3_server, bucket=fresh_bucket, exit_name="killed",
                     attempt=2, recipients=[RECIPIENT], termination_log=termination,
                     TENANT_EXIT_DB_EXCLUDE_TABLES='["*.*"]')
    result = run_worker(env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert multipart_uploads(s3, fresh_bucket) == ["exits/other-exit/a"]
    assert any(e["event"] == "aborted-stale-uploads" and e["count"] == 1
               for e in log_events(result.stderr))
    s3.abort_multipart_upload(Bucket=fresh_bucket, Key="exits/other-exit/a",
                              UploadId=other["UploadId"])


def test_an_attempt_leaves_uploads_of_other_runs_alone(db_server: DatabaseServer,
                                                        s3_server: S3Server, fresh_bucket: str,
                                                        tmp_path: Path) -> None:
    """Only ended attempts are cleaned up: a later attempt's upload and one of another
    run below the same exit prefix (which may overlap this one) survive."""
    s3 = s3_server.client()
    later = "exits/overlap/attempt-3/database-x.sql.zst.age"
    beside = "exits/overlap/run-2027-01-01/table.parquet"
    uploads = {key: s3.create_multipart_upload(Bucket=fresh_bucket, Key=key)["UploadId"]
               for key in (later, beside)}
    env = worker_env(db=db_server, s3=s3_server, bucket=fresh_bucket, exit_name="overlap",
                     attempt=2, recipients=[RECIPIENT], termination_log=tmp_path / "term",
                     TENANT_EXIT_DB_EXCLUDE_TABLES='["*.*"]')
    result = run_worker(env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert multipart_uploads(s3, fresh_bucket) == sorted(uploads)
    assert not any(e["event"] == "aborted-stale-uploads" for e in log_events(result.stderr))
    for key, upload_id in uploads.items():
        s3.abort_multipart_upload(Bucket=fresh_bucket, Key=key, UploadId=upload_id)


def _without_dac_override() -> list[str]:
    """As root, file modes do not stop reads (CAP_DAC_OVERRIDE); the Job runs as a
    non-root user. Drop those capabilities so a chmod 000 file is unreadable here too."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_unreadable_document_fails_loudly(db_server: DatabaseServer, s3_server: S3Server,
                                          fresh_bucket: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "clients" / "Jan de Vries").mkdir(parents=True)
    (docs / "clients" / "Jan de Vries" / "ok.pdf").write_bytes(b"%PDF-1.4 ok")
    secret_name = docs / "clients" / "Jan de Vries" / "intake.pdf"
    secret_name.write_bytes(b"%PDF-1.4 unreadable")
    secret_name.chmod(0)
    termination = tmp_path / "termination-log"
    env = worker_env(db=db_server, s3=s3_server, bucket=fresh_bucket, exit_name="unreadable",
                     recipients=[RECIPIENT], termination_log=termination,
                     documents=[{"name": "client-documents", "path": str(docs)}],
                     TENANT_EXIT_DB_EXCLUDE_TABLES='["*.*"]')
    try:
        result = run_worker(env, timeout=120, prefix=_without_dac_override())
    finally:
        secret_name.chmod(0o600)
    assert result.returncode == 1, result.stderr[-2000:]
    error = _failure(termination)
    assert "documents of claim 'client-documents'" in error
    assert "Permission denied" in error
    assert "Jan de Vries" not in error  # names stay out of the status message ...
    assert any(e["event"] == "unreadable" and "intake.pdf" in e.get("detail", "")
               for e in log_events(result.stderr))  # ... and go to the Job's log
    s3 = s3_server.client()
    assert multipart_uploads(s3, fresh_bucket) == []
    assert not [k for k in object_keys(s3, fresh_bucket) if k.endswith("manifest.json")]
    assert not [k for k in object_keys(s3, fresh_bucket) if "documents-" in k]


def _truncating_dump_tool(bin_dir: Path, keep_bytes: int) -> None:
    """A `mariadb-dump` first on PATH that runs the real one but passes on only the
    first `keep_bytes` bytes and exits 0: a dump cut off with its exit status lost
    (the worker finds the tool through PATH, as in the image)."""
    real = shutil.which("mariadb-dump") or shutil.which("mysqldump")
    assert real, "the MariaDB client is installed with the test stack"
    bin_dir.mkdir()
    for name in ("mariadb-dump", "mysqldump"):
        tool = bin_dir / name
        tool.write_text(
            "#!/bin/sh\n"
            f'case "$1" in --version) exec {shlex.quote(real)} "$@";; esac\n'
            f'{shlex.quote(real)} "$@" | head -c {keep_bytes}\n'
            "exit 0\n")
        tool.chmod(0o755)


def test_truncated_dump_with_exit_status_zero(db_server: DatabaseServer, s3_server: S3Server,
                                              fresh_schema: str, fresh_bucket: str,
                                              tmp_path: Path) -> None:
    seed_tenant(db_server, fresh_schema, clients=30, documents_dir=tmp_path / "docs", files=5,
                seed=3)
    bin_dir = tmp_path / "bin"
    _truncating_dump_tool(bin_dir, keep_bytes=20_000)
    termination = tmp_path / "termination-log"
    env = worker_env(db=db_server, s3=s3_server, bucket=fresh_bucket, exit_name="cut-off",
                     recipients=[RECIPIENT], termination_log=termination,
                     databases=[fresh_schema])
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    result = run_worker(env, timeout=120)
    assert result.returncode == 1, result.stderr[-2000:]
    error = _failure(termination)
    assert f"mysqldump of schema '{fresh_schema}' is truncated" in error, error
    assert "-- Dump completed" in error
    assert any(e["event"] == "progress" and e["object"] == f"database-{fresh_schema}"
               for e in log_events(result.stderr))  # the wrapper really streamed a dump
    s3 = s3_server.client()
    assert multipart_uploads(s3, fresh_bucket) == []
    assert object_keys(s3, fresh_bucket) == []  # no dump object, no manifest
