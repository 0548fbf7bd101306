"""Completeness proven from the dump stream (issue 10, item 3), on real MariaDB and
MySQL with a real S3 server.

A dump client that leaves objects out still ends with `-- Dump completed`, and
DDL during the dump adds objects the inventory never saw. The worker scans each
dump's plaintext as it streams and refuses an attempt whose dump does not create
exactly the planned objects, naming them. Both faults are produced for real: the
family's own dump client is run through a small wrapper (the worker's
TENANT_EXIT_*_DUMP_PATH override) that either passes `--skip-triggers` or runs
DDL/DML on the server just before it starts dumping. The row counts in the
manifest are those of the archive: rows written after the inventory but before
the dump's snapshot are in both.
"""

from __future__ import annotations

import json
import stat
import sys
import textwrap
from pathlib import Path

import pyrage
import pytest

from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import EXCLUDED_TABLES, TRIGGERS, drop_tenant, seed_tenant
from tests.support.backups import (
    decode_object,
    load_sql,
    multipart_uploads,
    object_keys,
    run_worker,
    worker_env,
)

OVERRIDE = {"mariadb": "TENANT_EXIT_MARIADB_DUMP_PATH", "mysql": "TENANT_EXIT_MYSQL_DUMP_PATH"}


def dump_wrapper(tmp_path: Path, db_server: DatabaseServer, *, extra_option: str = "",
                 sql_before: list[str] | None = None, delay: float = 0.0) -> Path:
    """An executable that runs the family's real dump client; before a dump (not
    for --version/--help) it waits `delay` seconds and runs `sql_before` as root,
    and it adds `extra_option` just before the schema argument."""
    script = tmp_path / "dump-wrapper"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import os, sys, time
        real = {db_server.dump_tool!r}
        args = sys.argv[1:]
        probing = any(a in ("--version", "--help", "-V", "-?") for a in args)
        if not probing:
            time.sleep({delay!r})
            import pymysql
            conn = pymysql.connect(host={db_server.host!r}, port={db_server.port!r},
                                   user={db_server.root_user!r},
                                   password={db_server.root_password!r}, autocommit=True)
            with conn.cursor() as cur:
                for statement in {sql_before or []!r}:
                    cur.execute(statement)
            conn.close()
            if {extra_option!r}:
                args = args[:-1] + [{extra_option!r}] + args[-1:]
        os.execv(real, [real, *args])
        """))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def tenant(db_server: DatabaseServer, fresh_schema: str, tmp_path: Path) -> str:
    seed_tenant(db_server, fresh_schema, clients=15, documents_dir=tmp_path / "docs", files=2,
                seed=9)
    return fresh_schema


def _run(db_server: DatabaseServer, s3: S3Server, bucket: str, schema: str, tmp_path: Path,
         wrapper: Path) -> tuple[int, dict, pyrage.x25519.Identity]:
    identity = pyrage.x25519.Identity.generate()
    termination = tmp_path / "termination-log"
    env = worker_env(db=db_server, s3=s3, bucket=bucket, exit_name="complete",
                     recipients=[str(identity.to_public())], termination_log=termination,
                     databases=[schema], **{OVERRIDE[db_server.family]: str(wrapper)})
    result = run_worker(env, timeout=240)
    return result.returncode, json.loads(termination.read_text()), identity


def test_a_dump_without_its_triggers_is_refused_naming_them(
        db_server: DatabaseServer, s3_server: S3Server, tenant: str, fresh_bucket: str,
        tmp_path: Path) -> None:
    wrapper = dump_wrapper(tmp_path, db_server, extra_option="--skip-triggers")
    code, message, _ = _run(db_server, s3_server, fresh_bucket, tenant, tmp_path, wrapper)
    assert code == 1, message
    assert message["code"] == "DumpIncomplete", message
    for trigger in TRIGGERS:
        assert f"trigger `{tenant}`.`{trigger}`" in message["error"], message
    assert "missing from the dump" in message["error"]
    s3 = s3_server.client()
    # The dump's object was never completed, and no manifest exists.
    assert object_keys(s3, fresh_bucket) == []
    assert multipart_uploads(s3, fresh_bucket) == []


def test_a_table_created_while_dumping_is_refused_naming_it(
        db_server: DatabaseServer, s3_server: S3Server, tenant: str, fresh_bucket: str,
        tmp_path: Path) -> None:
    wrapper = dump_wrapper(tmp_path, db_server, sql_before=[
        f"CREATE TABLE `{tenant}`.`late_arrival` (id INT PRIMARY KEY)",
        f"INSERT INTO `{tenant}`.`late_arrival` VALUES (1), (2)"])
    code, message, _ = _run(db_server, s3_server, fresh_bucket, tenant, tmp_path, wrapper)
    assert code == 1, message
    assert message["code"] == "DumpIncomplete", message
    assert (f"in the dump but not in the inventory: table `{tenant}`.`late_arrival`"
            in message["error"]), message
    assert object_keys(s3_server.client(), fresh_bucket) == []


def test_manifest_rows_are_the_archive_rows(db_server: DatabaseServer, s3_server: S3Server,
                                            tenant: str, fresh_bucket: str,
                                            tmp_path: Path) -> None:
    """Rows written after the inventory (and after the excluded tables were
    counted) but before the dump's snapshot are in the archive, so they are in the
    manifest: its counts are the dump's own, not those of another snapshot."""
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{tenant}`.`employees`")
        seeded = cur.fetchone()[0]
    wrapper = dump_wrapper(tmp_path, db_server, delay=1.5, sql_before=[
        f"INSERT INTO `{tenant}`.`employees` (id, personnel_number, first_name, last_name, "
        "role, hired_on) SELECT id + 100000, CONCAT('K', id), first_name, last_name, role, "
        f"hired_on FROM `{tenant}`.`employees`"])
    code, summary, identity = _run(db_server, s3_server, fresh_bucket, tenant, tmp_path, wrapper)
    assert code == 0, summary
    s3 = s3_server.client()
    manifest = json.loads(s3.get_object(Bucket=fresh_bucket, Key=summary["manifestKey"])
                          ["Body"].read())
    (schema,) = manifest["database"]["schemas"]
    in_manifest = {t["name"]: t["rows"] for t in schema["tables"]}
    sql = decode_object(s3, fresh_bucket, next(
        o["key"] for o in manifest["objects"] if o["kind"] == "database"), identity)
    restored = f"{tenant}_r"
    try:
        load_sql(db_server, restored, sql)
        with db_server.connect() as conn, conn.cursor() as cur:
            loaded = {}
            for table in in_manifest:
                cur.execute(f"SELECT COUNT(*) FROM `{restored}`.`{table}`")
                loaded[table] = cur.fetchone()[0]
            cur.execute(f"SELECT COUNT(*) FROM `{tenant}`.`employees`")
            now = cur.fetchone()[0]
    finally:
        drop_tenant(db_server, restored)
    assert in_manifest == loaded
    assert in_manifest["employees"] == now == 2 * seeded > 0  # copied once before the dump
    assert summary["rows"] == sum(loaded.values())


def test_excluded_tables_are_listed_with_rows_and_rule(
        db_server: DatabaseServer, s3_server: S3Server, tenant: str, fresh_bucket: str,
        tmp_path: Path) -> None:
    identity = pyrage.x25519.Identity.generate()
    termination = tmp_path / "termination-log"
    env = worker_env(db=db_server, s3=s3_server, bucket=fresh_bucket, exit_name="complete",
                     recipients=[str(identity.to_public())], termination_log=termination,
                     databases=[tenant])
    result = run_worker(env, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(termination.read_text())
    manifest = json.loads(s3_server.client().get_object(
        Bucket=fresh_bucket, Key=summary["manifestKey"])["Body"].read())
    (schema,) = manifest["database"]["schemas"]
    listed = {t["name"]: (t["rows"], t["pattern"]) for t in schema["excludedTables"]}
    with db_server.connect() as conn, conn.cursor() as cur:
        actual = {}
        for table in EXCLUDED_TABLES:
            cur.execute(f"SELECT COUNT(*) FROM `{tenant}`.`{table}`")
            actual[table] = cur.fetchone()[0]
    assert set(listed) == set(EXCLUDED_TABLES)
    assert {name: rows for name, (rows, _) in listed.items()} == actual
    assert listed["audit_log"][1] == "*.audit_*"
    assert any(rows > 0 for rows in actual.values())
