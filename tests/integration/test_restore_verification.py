"""Restore verification in the worker (issue 13), against real servers: the dump
of a real MariaDB or MySQL is teed into a real scratch server of the same
family (started as the backup Job's sidecar runs it), then every table and
definition is compared; real S3 holds the result.

The sabotage cases alter the stream between the dump tool and the worker with
a wrapper first on PATH (as the image finds its tools): what reaches the
archive is what reaches the scratch server, so only the comparison with the
source can see a row lost in flight.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path

import pyrage

from tenant_exit.storage.manifest import Manifest
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import seed_tenant
from tests.support.backups import log_events, multipart_uploads, object_keys, run_worker, worker_env
from tests.support.scratch import scratch_server

RECIPIENT = str(pyrage.x25519.Identity.generate().to_public())


def _env(db: DatabaseServer, s3: S3Server, bucket: str, schema: str, tmp_path: Path,
         socket: Path | None, mode: str = "Required", **extra: str) -> dict[str, str]:
    env = worker_env(db=db, s3=s3, bucket=bucket, exit_name="restore", recipients=[RECIPIENT],
                     termination_log=tmp_path / "termination-log", databases=[schema],
                     TENANT_EXIT_RESTORE_MODE=mode,
                     TENANT_EXIT_RESTORE_IMAGE=f"{db.family}:test",
                     TENANT_EXIT_RESTORE_MAX_DATA_BYTES=str(1 << 40),
                     TENANT_EXIT_RESTORE_WAIT_SECONDS="180", **extra)
    if socket is not None:
        env["TENANT_EXIT_RESTORE_SOCKET"] = str(socket)
    return env


def _failure(tmp_path: Path, code: str) -> str:
    message = json.loads((tmp_path / "termination-log").read_text())
    assert message["code"] == code, message
    return str(message["error"])


def _manifest(s3: S3Server, bucket: str) -> Manifest:
    client = s3.client()
    [key] = [k for k in object_keys(client, bucket) if k.endswith("manifest.json")]
    return Manifest.from_bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())


def _nothing_stored(s3: S3Server, bucket: str) -> None:
    client = s3.client()
    assert multipart_uploads(client, bucket) == []
    assert not [k for k in object_keys(client, bucket) if k.endswith("manifest.json")]


def _seed(db: DatabaseServer, schema: str, tmp_path: Path) -> None:
    seed_tenant(db, schema, clients=30, documents_dir=tmp_path / "docs", files=3, seed=5)
    with db.connect(database=schema) as conn, conn.cursor() as cur:
        if db.family == "mysql":
            # CHECKSUM TABLE is no equality test here (the index's hidden column).
            cur.execute("CREATE TABLE lookup_names (id INT PRIMARY KEY, name VARCHAR(40), "
                        "INDEX by_lower ((LOWER(name))))")
        else:
            cur.execute("CREATE TABLE lookup_names (id INT PRIMARY KEY, name VARCHAR(40), "
                        "hidden_note VARCHAR(20) INVISIBLE DEFAULT 'n')")
        cur.executemany("INSERT INTO lookup_names (id, name) VALUES (%s, %s)",
                        [(i, f"Naam {i}") for i in range(1, 41)])


def _filtered_dump_tool(bin_dir: Path, db: DatabaseServer, filter_code: str) -> None:
    """The family's dump client first on PATH, its output passed through `filter_code`
    (Python reading stdin, writing stdout); `--version`/`--help` pass through."""
    real = db.dump_tool
    names = ("mariadb-dump", "mysqldump") if db.family == "mariadb" else ("mysqldump",)
    bin_dir.mkdir()
    script = bin_dir / "filter.py"
    script.write_text(filter_code)
    for name in names:
        tool = bin_dir / name
        tool.write_text(
            "#!/bin/sh\n"
            f'case "$1" in --version|--help) exec {shlex.quote(real)} "$@";; esac\n'
            f'{shlex.quote(real)} "$@" | {shlex.quote(sys.executable)} '
            f'{shlex.quote(str(script))}\n')
        tool.chmod(0o755)


DROP_ONE_ROW = """
import sys
mode = "drop-row"
# One row of the first INSERT of `lookup_names` is left out, whichever way the dump
# tool lays rows out: MySQL's all on the INSERT line, MariaDB's one per line
# (the first on the INSERT line when it names columns).
done = following = False
for line in sys.stdin.buffer:
    if following and line.startswith(b"(") and line.endswith(b"),\\n"):
        following, done = False, True  # the first row, alone on its line
        continue
    if mode == "drop-row" and not done and not following:
        if line.startswith(b"INSERT INTO `lookup_names` "):
            if b"),(" in line:  # the last row
                line = line[:line.rindex(b"),(") + 1] + b";\\n"
            elif line.endswith(b"),\\n"):  # the first row; the next line goes on
                line = line[:line.index(b" VALUES (") + len(b" VALUES")] + b"\\n"
            elif line.endswith(b" VALUES\\n"):  # rows follow, one per line
                following = True
                sys.stdout.buffer.write(line)
                continue
            done = True
    sys.stdout.buffer.write(line)
"""

BREAK_ONE_DEFINITION = """
import sys
for line in sys.stdin.buffer:
    if line.startswith(b"CREATE TABLE `care_notes` ("):
        line = b"CREATE TABLE `care_notes` BROKEN (\\n"
    sys.stdout.buffer.write(line)
"""


def test_the_dump_loads_into_a_scratch_server_and_every_table_matches(
        db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str, fresh_bucket: str,
        tmp_path: Path) -> None:
    _seed(db_server, fresh_schema, tmp_path)
    with scratch_server(db_server.family, tmp_path / "scratch") as socket:
        result = run_worker(_env(db_server, s3_server, fresh_bucket, fresh_schema, tmp_path,
                                 socket), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = _manifest(s3_server, fresh_bucket)
    v = manifest.verification
    assert v is not None
    assert (v.mode, v.status, v.reason) == ("Required", "Verified", "RestoreMatches")
    assert v.scratch_family == db_server.family
    assert v.scratch_version and v.scratch_version.split(".")[0] == db_server.version.split(".")[0]
    assert manifest.database is not None
    [schema] = manifest.database.schemas
    dumped = {t.name: t.rows for t in schema.tables}
    checked = {t.name: t for t in v.tables}
    assert set(checked) == set(dumped) and "lookup_names" in checked
    for name, rows in dumped.items():
        assert checked[name].source_rows == checked[name].scratch_rows == rows, name
        assert checked[name].source_digest == checked[name].scratch_digest, name
        assert checked[name].matches
    expected = "row-digest" if db_server.family == "mysql" else "checksum-table"
    assert checked["lookup_names"].method == expected
    kinds = {d.kind for d in v.definitions}
    assert {"table", "view", "trigger"} <= kinds, kinds
    assert all(d.matches for d in v.definitions)


def test_a_row_dropped_in_flight_fails_the_attempt_naming_the_table(
        db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str, fresh_bucket: str,
        tmp_path: Path) -> None:
    _seed(db_server, fresh_schema, tmp_path)
    bin_dir = tmp_path / "bin"
    _filtered_dump_tool(bin_dir, db_server, DROP_ONE_ROW)
    with scratch_server(db_server.family, tmp_path / "scratch") as socket:
        env = _env(db_server, s3_server, fresh_bucket, fresh_schema, tmp_path, socket)
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
        result = run_worker(env, timeout=600)
    assert result.returncode == 1, result.stderr[-3000:]
    error = _failure(tmp_path, "RestoreMismatch")
    assert f"{fresh_schema}.lookup_names (40 rows at the source, 39 restored)" in error, error
    assert "Naam" not in error  # tables are named, data never
    assert any(e["event"] == "restore-mismatch" and e["table"] == "lookup_names"
               for e in log_events(result.stderr))
    _nothing_stored(s3_server, fresh_bucket)


def test_a_statement_the_scratch_server_refuses_fails_naming_line_and_table(
        db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str, fresh_bucket: str,
        tmp_path: Path) -> None:
    _seed(db_server, fresh_schema, tmp_path)
    bin_dir = tmp_path / "bin"
    _filtered_dump_tool(bin_dir, db_server, BREAK_ONE_DEFINITION)
    with scratch_server(db_server.family, tmp_path / "scratch") as socket:
        env = _env(db_server, s3_server, fresh_bucket, fresh_schema, tmp_path, socket)
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
        result = run_worker(env, timeout=600)
    assert result.returncode == 1, result.stderr[-3000:]
    error = _failure(tmp_path, "RestoreLoadFailed")
    assert f"restore of schema '{fresh_schema}'" in error, error
    assert "in the definition of table `care_notes`" in error, error
    assert "ERROR 1064 (42000)" in error and " at line " in error
    assert "BROKEN" not in error  # the statement's text is never quoted
    _nothing_stored(s3_server, fresh_bucket)


def test_a_source_over_the_scratch_limit_is_unknown_under_best_effort(
        db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str, fresh_bucket: str,
        tmp_path: Path) -> None:
    _seed(db_server, fresh_schema, tmp_path)
    env = _env(db_server, s3_server, fresh_bucket, fresh_schema, tmp_path, None,
               mode="BestEffort", TENANT_EXIT_RESTORE_SKIPPED="TooLarge")
    env["TENANT_EXIT_RESTORE_MAX_DATA_BYTES"] = "1024"
    result = run_worker(env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    v = _manifest(s3_server, fresh_bucket).verification
    assert v is not None
    assert (v.status, v.reason) == ("Unknown", "TooLarge")
    assert "more than the scratch limit of 1024 bytes" in v.message
    assert v.tables == []


def test_a_source_over_the_scratch_limit_is_refused_under_required(
        db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str, fresh_bucket: str,
        tmp_path: Path) -> None:
    _seed(db_server, fresh_schema, tmp_path)
    env = _env(db_server, s3_server, fresh_bucket, fresh_schema, tmp_path, None,
               TENANT_EXIT_RESTORE_SKIPPED="TooLarge")
    env["TENANT_EXIT_RESTORE_MAX_DATA_BYTES"] = "1024"
    result = run_worker(env, timeout=600)
    assert result.returncode == 1, result.stderr[-3000:]
    error = _failure(tmp_path, "RestoreTooLarge")
    assert "restore verification is Required" in error and "1024 bytes" in error
    assert object_keys(s3_server.client(), fresh_bucket) == []  # refused before anything


CHANGE_AFTER_WALK = """
import os, subprocess, sys
from pathlib import Path
real, args = sys.argv[1], sys.argv[2:]
listed = sys.stdin.buffer.read()  # the walk has listed (and stat'ed) every path
root = Path(next(a for a in args if a.startswith("--directory="))[len("--directory="):])
if any(a == "--create" for a in args):
    first = next(p for p in listed.split(b"\\0") if (root / os.fsdecode(p)).is_file())
    with open(root / os.fsdecode(first), "ab") as changed:
        changed.write(b" changed after the walk")
sys.exit(subprocess.run([real, *args], input=listed).returncode)
"""


def test_a_document_changed_between_walk_and_tar_fails_the_attempt(
        db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str, fresh_bucket: str,
        tmp_path: Path) -> None:
    """Documents only (restore Off); the database is dumped on both families anyway."""
    docs = tmp_path / "docs"
    seed_tenant(db_server, fresh_schema, clients=3, documents_dir=docs, files=4, seed=2)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "change.py"
    script.write_text(CHANGE_AFTER_WALK)
    real_tar = shutil.which("tar")
    assert real_tar is not None
    wrapper = bin_dir / "tar"
    wrapper.write_text("#!/bin/sh\n"
                       f'case "$1" in --version) exec {shlex.quote(real_tar)} "$@";; esac\n'
                       f'exec {shlex.quote(sys.executable)} {shlex.quote(str(script))} '
                       f'{shlex.quote(real_tar)} "$@"\n')
    wrapper.chmod(0o755)
    env = _env(db_server, s3_server, fresh_bucket, fresh_schema, tmp_path, None, mode="Off",
               TENANT_EXIT_DB_EXCLUDE_TABLES='["*.*"]')
    env["TENANT_EXIT_DOCUMENTS"] = json.dumps([{"name": "client-documents", "path": str(docs)}])
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    result = run_worker(env, timeout=600)
    assert result.returncode == 1, result.stderr[-3000:]
    error = _failure(tmp_path, "PipelineFailed")
    assert "documents of claim 'client-documents': 1 file(s)" in error, error
    assert "differ from the volume walk" in error
    differing = [e for e in log_events(result.stderr) if e["event"] == "document-differs"]
    assert len(differing) == 1 and "archived" in differing[0]["detail"]
    assert differing[0]["path"] not in error  # names go to the Job's log only
    _nothing_stored(s3_server, fresh_bucket)


def test_the_archive_read_back_equals_the_walk_and_is_in_the_manifest(
        db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str, fresh_bucket: str,
        tmp_path: Path) -> None:
    """Documents only (restore Off); the database is dumped on both families anyway."""
    docs = tmp_path / "docs"
    seed_tenant(db_server, fresh_schema, clients=3, documents_dir=docs, files=4, seed=2)
    env = _env(db_server, s3_server, fresh_bucket, fresh_schema, tmp_path, None, mode="Off",
               TENANT_EXIT_DB_EXCLUDE_TABLES='["*.*"]',
               TENANT_EXIT_RESTORE_OFF_REASON="test of the documents alone")
    env["TENANT_EXIT_DOCUMENTS"] = json.dumps([{"name": "client-documents", "path": str(docs)}])
    result = run_worker(env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = _manifest(s3_server, fresh_bucket)
    [record] = manifest.documents
    assert len(record.member_list_sha256) == 64
    v = manifest.verification
    assert v is not None and (v.status, v.off_reason) == ("Off", "test of the documents alone")
