"""Helpers for tests of the backup worker: run it like the Job does, read back what
it stored the way a customer would (age identity -> zstd -> SQL / tar)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyrage
import zstandard

from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.tools import tool_path

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REPO_ROOT = Path(__file__).resolve().parents[2]


def worker_env(*, db: DatabaseServer, s3: S3Server, bucket: str, exit_name: str,
               recipients: list[str], termination_log: Path, attempt: int = 1,
               databases: list[str] | None = None, documents: list[dict[str, Any]] | None = None,
               password: str | None = None, **extra: str) -> dict[str, str]:
    """The environment the operator's Job builder sets, pointing at the test servers;
    PATH as the image's: both families' client tools (tools.tool_path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENANT_EXIT_", "AWS_"))}
    env["PATH"] = tool_path(env.get("PATH"))
    env.update(s3.env())
    env.update({
        "TENANT_EXIT_EXIT_NAME": exit_name,
        "TENANT_EXIT_ATTEMPT": str(attempt),
        "TENANT_EXIT_DB_HOST": db.host,
        "TENANT_EXIT_DB_PORT": str(db.port),
        "TENANT_EXIT_DB_USER": db.root_user,
        "TENANT_EXIT_DB_PASSWORD": db.root_password if password is None else password,
        "TENANT_EXIT_DB_DATABASES": json.dumps(databases or []),
        "TENANT_EXIT_DOCUMENTS": json.dumps(documents or []),
        "TENANT_EXIT_S3_BUCKET": bucket,
        "TENANT_EXIT_S3_PREFIX": "exits/",
        "TENANT_EXIT_S3_ENDPOINT": s3.endpoint_url,
        "TENANT_EXIT_S3_REGION": s3.region,
        "TENANT_EXIT_AGE_RECIPIENTS": json.dumps(recipients),
        "TENANT_EXIT_TERMINATION_LOG": str(termination_log),
        "TENANT_EXIT_PROGRESS_INTERVAL_SECONDS": "0.5",
    })
    env.update(extra)
    return env


def run_worker(env: Mapping[str, str], *, timeout: float = 300,
               prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """`tenant-exit worker backup` as a child process, as the Job runs it."""
    argv = [*(prefix or []), sys.executable, "-m", "tenant_exit.cli", "worker", "backup"]
    return subprocess.run(argv, env=dict(env), capture_output=True, text=True, timeout=timeout,
                          check=False, cwd=REPO_ROOT)


def log_events(stderr: str) -> list[dict[str, Any]]:
    """The worker's JSON-lines log, parsed (non-JSON lines are a test failure)."""
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def decode_object(s3: S3Client, bucket: str, key: str, identity: pyrage.x25519.Identity
                  ) -> bytes:
    """Download, decrypt with the customer's identity, decompress (small test objects)."""
    return open_object(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), identity)


def open_object(stored: bytes, identity: pyrage.x25519.Identity) -> bytes:
    """What the customer does with a stored object: age-decrypt, then zstd-decompress."""
    compressed = pyrage.decrypt(stored, [identity])
    return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(compressed)).read()


def load_sql(db: DatabaseServer, schema: str, sql: bytes) -> None:
    """Load a dump into a new schema with the family's plain command-line client
    (`mariadb` / MySQL's `mysql`), as the customer would."""
    db.load_sql(schema, sql)


def table_fingerprints(db: DatabaseServer, schema: str,
                       skip: Collection[str] = ()) -> dict[str, tuple[int, str]]:
    """(row count, SHA-256 of every column of every row in primary-key order) of
    every base table of `schema`. Columns are named from information_schema, so
    INVISIBLE ones count too. Not CHECKSUM TABLE: on MySQL a byte-identical
    reload of a table with a functional index checksums differently (the index's
    hidden column)."""
    result: dict[str, tuple[int, str]] = {}
    with db.connect(database=schema) as conn, conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                    "AND TABLE_TYPE = 'BASE TABLE'", (schema,))
        for (table,) in cur.fetchall():
            if table in skip:  # a large table the caller compares on the server
                continue
            cur.execute("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA "
                        "= %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (schema, table))
            columns = [_quote(str(c)) for (c,) in cur.fetchall()]
            cur.execute("SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE "
                        "TABLE_SCHEMA = %s AND TABLE_NAME = %s AND INDEX_NAME = 'PRIMARY' "
                        "ORDER BY SEQ_IN_INDEX", (schema, table))
            order = [_quote(str(c)) for (c,) in cur.fetchall()] or columns
            cur.execute(f"SELECT {', '.join(columns)} FROM {_quote(str(table))} "
                        f"ORDER BY {', '.join(order)}")
            digest, count = hashlib.sha256(), 0
            for row in cur.fetchall():
                digest.update(repr(row).encode())
                count += 1
            result[str(table)] = (count, digest.hexdigest())
    return result


def table_definitions(db: DatabaseServer, schema: str) -> dict[str, str]:
    """SHOW CREATE TABLE of every base table, without the AUTO_INCREMENT counter."""
    with db.connect(database=schema) as conn, conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                    "AND TABLE_TYPE = 'BASE TABLE'", (schema,))
        out = {}
        for (table,) in cur.fetchall():
            cur.execute(f"SHOW CREATE TABLE {_quote(str(table))}")
            out[str(table)] = re.sub(r" AUTO_INCREMENT=\d+", "", str(cur.fetchone()[1]))
        return out


def object_definitions(db: DatabaseServer, schema: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """The definition of every view, routine, trigger and event of `schema`, by
    kind and name, with the schema's own name taken out (views name it)."""
    queries = {
        "views": "SELECT TABLE_NAME, VIEW_DEFINITION, SECURITY_TYPE, DEFINER "
                 "FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s",
        "routines": "SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION, SECURITY_TYPE, "
                    "DEFINER, SQL_DATA_ACCESS, IS_DETERMINISTIC, ROUTINE_COMMENT "
                    "FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s",
        "triggers": "SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, "
                    "ACTION_TIMING, ACTION_STATEMENT, DEFINER "
                    "FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s",
        "events": "SELECT EVENT_NAME, EVENT_DEFINITION, INTERVAL_VALUE, INTERVAL_FIELD, "
                  "STATUS, DEFINER, EVENT_COMMENT "
                  "FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s",
    }
    own = f"`{schema}`."
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    with db.connect() as conn, conn.cursor() as cur:
        for kind, sql in queries.items():
            cur.execute(sql, (schema,))
            out[kind] = {str(row[0]): tuple(str(v).replace(own, "") for v in row[1:])
                         for row in cur.fetchall()}
    return out


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


def schema_objects(db: DatabaseServer, schema: str) -> dict[str, set[str]]:
    with db.connect() as conn, conn.cursor() as cur:
        out: dict[str, set[str]] = {}
        for kind, sql in (
            ("views", "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA=%s"),
            ("triggers", "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS "
                         "WHERE TRIGGER_SCHEMA=%s"),
            ("routines", "SELECT ROUTINE_NAME FROM information_schema.ROUTINES "
                         "WHERE ROUTINE_SCHEMA=%s"),
            ("events", "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA=%s"),
        ):
            cur.execute(sql, (schema,))
            out[kind] = {str(r[0]) for r in cur.fetchall()}
        return out


def file_digests(root: Path) -> dict[str, str]:
    """SHA-256 of every regular file under `root`, by relative POSIX path."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def extract_tar(data: bytes, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        archive.extractall(target, filter="tar")


def multipart_uploads(s3: S3Client, bucket: str) -> list[str]:
    return [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def object_keys(s3: S3Client, bucket: str, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))
