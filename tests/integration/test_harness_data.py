"""The data services of the harness do what real ones do: each database family
(MariaDB, Oracle MySQL) stores and returns utf8mb4 text and BLOBs, survives a
crash, enforces passwords and privileges; MySQL runs with the managed-8.0
settings; the seeder builds the schema it reports on both; the S3 server speaks
HTTP, multipart included, and a stopped server is unreachable."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pymysql
import pytest
from botocore.exceptions import EndpointConnectionError

from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.families import DUMP_HEADER
from tests.localcluster.mariadb import MariaDBServer
from tests.localcluster.mysql_tree import pinned_version
from tests.localcluster.mysqlserver import MySQLServer
from tests.localcluster.s3server import S3Server, transfer_config
from tests.localcluster.seed import (
    EVENTS,
    EXCLUDED_DIRS,
    FUNCTIONS,
    PROCEDURES,
    SCHEMA_COLLATION,
    TRIGGERS,
    VIEWS,
    SeedReport,
    drop_tenant,
    plan_documents,
    seed_tenant,
)
from tests.localcluster.tools import find_binary, tool_path
from tests.support.backups import object_definitions, table_definitions, table_fingerprints

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

REPO = Path(__file__).resolve().parents[2]
DUTCH_NAMES = ["Jeroen van 't Hof", "Ängela Dijkstra-Öztürk", "Zoë Çelik 🙂"]
LARGE_BLOB = 17 << 20  # over the clients' default 16 MiB packet limit


def _scalar(conn: Any, sql: str, args: object = None) -> object:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        row = cur.fetchone()
        assert row is not None, sql
        return row[0]


# -- Database servers (both families) ---------------------------------------


def _server_says_family(server: DatabaseServer) -> str:
    """The family as the server reports it (never from the client)."""
    with server.connect() as conn:
        version, comment = str(_scalar(conn, "SELECT @@version")), str(
            _scalar(conn, "SELECT @@version_comment"))
    return "mariadb" if "mariadb" in f"{version} {comment}".lower() else "mysql"


def test_server_round_trips_utf8mb4_text_and_blob(db_server: DatabaseServer,
                                                  fresh_schema: str) -> None:
    blob = bytes(range(256)) * 40 + b"\x00\xff"
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {fresh_schema} CHARACTER SET utf8mb4")
        cur.execute(f"CREATE TABLE {fresh_schema}.t (id INT PRIMARY KEY, name VARCHAR(100), "
                    "data MEDIUMBLOB) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
        cur.executemany(f"INSERT INTO {fresh_schema}.t VALUES (%s, %s, %s)",
                        [(i, name, blob) for i, name in enumerate(DUTCH_NAMES)])

    # A new connection reads what the server stored, not a client-side cache.
    with db_server.connect(database=fresh_schema) as conn, conn.cursor() as cur:
        cur.execute("SELECT name, data FROM t ORDER BY id")
        rows = cur.fetchall()
    assert [r[0] for r in rows] == DUTCH_NAMES
    assert all(bytes(r[1]) == blob for r in rows)
    assert _server_says_family(db_server) == db_server.family
    assert db_server.version and ("MariaDB" in db_server.version) == (
        db_server.family == "mariadb")


def test_server_listens_on_its_own_port_and_socket_with_a_root_password(
        db_server: DatabaseServer) -> None:
    socket = getattr(db_server, "socket", None)
    if socket is None:
        pytest.skip("a server of the user's own: the harness knows no socket of it")
    over_socket = pymysql.connect(unix_socket=socket, user=db_server.root_user,
                                  password=db_server.root_password)
    with over_socket:
        assert _scalar(over_socket, "SELECT @@port") == db_server.port
        assert _scalar(over_socket, "SELECT @@character_set_server") == "utf8mb4"
    with pytest.raises(pymysql.err.OperationalError) as denied:
        db_server.connect(user="root", password="wrong")
    assert denied.value.args[0] == 1045  # ER_ACCESS_DENIED_ERROR


@pytest.mark.parametrize("server_type", [
    pytest.param(MariaDBServer, id="mariadb", marks=pytest.mark.mariadb),
    pytest.param(MySQLServer, id="mysql", marks=pytest.mark.mysql),
])
def test_server_restarts_on_the_same_port_after_a_crash(
        server_type: type[MariaDBServer] | type[MySQLServer], tmp_path: Path) -> None:
    with server_type(workdir=tmp_path) as db:
        with db.connect() as conn, conn.cursor() as cur:
            cur.execute("CREATE DATABASE crash")
            cur.execute("CREATE TABLE crash.t (v VARCHAR(20) PRIMARY KEY) ENGINE=InnoDB")
            cur.execute("INSERT INTO crash.t VALUES ('bewaard')")
        port, pid = db.port, db.pid

        db.kill()
        assert db.pid is None
        with pytest.raises(pymysql.err.OperationalError):
            db.connect(connect_timeout=2)

        db.start()
        assert db.port == port and db.pid != pid
        with db.connect() as conn:
            assert _scalar(conn, "SELECT v FROM crash.t") == "bewaard"


@pytest.mark.mysql
def test_mysql_runs_like_a_managed_8_0_server(mysql_server: DatabaseServer) -> None:
    """MySQL only: GTIDs, the binary log and caching_sha2_password are what
    MySQL 8.0+ managed servers run with and what a MySQL dump must handle."""
    if not isinstance(mysql_server, MySQLServer):
        pytest.skip("a server of the user's own runs with the user's settings")
    with mysql_server.connect() as conn:
        assert _scalar(conn, "SELECT @@gtid_mode") == "ON"
        assert _scalar(conn, "SELECT @@enforce_gtid_consistency") == "ON"
        assert _scalar(conn, "SELECT @@log_bin") == 1
        assert _scalar(conn, "SELECT plugin FROM mysql.user WHERE user = %s LIMIT 1",
                       (mysql_server.root_user,)) == "caching_sha2_password"
        assert _scalar(conn, "SELECT @@collation_server") == "utf8mb4_0900_ai_ci"
        assert _scalar(conn, "SELECT @@version") == pinned_version()


def test_both_families_clients_are_on_the_tool_path() -> None:
    """Debian's mariadb-client installs `mysqldump` -> mariadb-dump and `mysql` ->
    mariadb; the worker's PATH must give MySQL's own tools under those names."""
    path = tool_path()
    versions = {name: subprocess.run([name, "--version"], env={**os.environ, "PATH": path},
                                     capture_output=True, text=True, check=True).stdout
                for name in ("mysqldump", "mysql", "mariadb-dump", "mariadb")}
    assert pinned_version() in versions["mysqldump"] and "MariaDB" not in versions["mysqldump"]
    assert pinned_version() in versions["mysql"] and "MariaDB" not in versions["mysql"]
    assert "MariaDB" in versions["mariadb-dump"] and "MariaDB" in versions["mariadb"]


def test_each_family_dumps_and_loads_with_its_own_clients(
        db_server: DatabaseServer, fresh_schema: str) -> None:
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {fresh_schema}")
        cur.execute(f"CREATE TABLE {fresh_schema}.t (id INT PRIMARY KEY, "
                    "twice INT AS (id * 2) STORED)")
        cur.execute(f"INSERT INTO {fresh_schema}.t (id) VALUES (1), (2)")
    flags = ["--set-gtid-purged=OFF"] if db_server.family == "mysql" else []
    dump = subprocess.run(
        [db_server.dump_tool, f"--host={db_server.host}", f"--port={db_server.port}",
         f"--user={db_server.root_user}", "--protocol=TCP", *flags, fresh_schema],
        env={**os.environ, "MYSQL_PWD": db_server.root_password},
        capture_output=True, check=True, timeout=60).stdout
    header = DUMP_HEADER[db_server.family]
    # (mariadb-dump 10.11.8+ writes a sandbox-mode line before its header.)
    assert any(line.startswith(header) for line in dump.splitlines()[:2]), dump[:200]

    db_server.load_sql(f"{fresh_schema}_r", dump)
    try:
        with db_server.connect(database=f"{fresh_schema}_r") as conn, conn.cursor() as cur:
            cur.execute("SELECT id, twice FROM t ORDER BY id")
            assert cur.fetchall() == ((1, 2), (2, 4))
    finally:
        with db_server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {fresh_schema}_r")


def test_seeded_schema_round_trips_through_the_familys_own_clients(
        db_server: DatabaseServer, fresh_schema: str) -> None:
    """The customer's path without the worker: the family's own dump client,
    the plain command-line client back. Every row (invisible columns, the
    17 MiB scan, non-BMP text included), every SHOW CREATE TABLE and every
    program definition survives, generated, invisible and 0900-collation
    tables in particular."""
    seed_tenant(db_server, fresh_schema, clients=4, documents_dir=None, files=0,
                large_blob_bytes=LARGE_BLOB)
    flags = ["--set-gtid-purged=OFF"] if db_server.family == "mysql" else []
    dump = subprocess.run(
        [db_server.dump_tool, f"--host={db_server.host}", f"--port={db_server.port}",
         f"--user={db_server.root_user}", "--protocol=TCP", "--single-transaction",
         "--routines", "--triggers", "--events", "--hex-blob", "--no-tablespaces",
         "--default-character-set=utf8mb4", "--max-allowed-packet=1G", *flags, fresh_schema],
        env={**os.environ, "MYSQL_PWD": db_server.root_password},
        capture_output=True, check=True, timeout=300).stdout
    restored = f"{fresh_schema}_r"
    db_server.load_sql(restored, dump, collation=SCHEMA_COLLATION[db_server.family])
    try:
        source, copy = (table_fingerprints(db_server, s) for s in (fresh_schema, restored))
        assert copy == source
        assert source["scanned_records"][0] == 2  # the small scan and the large one
        tables = table_definitions(db_server, fresh_schema)
        assert table_definitions(db_server, restored) == tables
        assert "INVISIBLE" in tables["care_measurements"]
        assert "VIRTUAL" in tables["care_measurements"] and "STORED" in tables["care_measurements"]
        assert "PARTITION BY RANGE" in tables["appointment_history"]
        if db_server.family == "mysql":
            assert "utf8mb4_0900_ai_ci" in tables["international_contacts"]
            assert "((cast(`measured_at` as date)))" in tables["care_measurements"]
        programs = object_definitions(db_server, fresh_schema)
        assert object_definitions(db_server, restored) == programs
        assert set(programs["views"]) == set(VIEWS)
        assert programs["views"]["v_client_bmi"][1] == "INVOKER"
        assert set(programs["routines"]) == set(FUNCTIONS) | set(PROCEDURES)
        assert set(programs["triggers"]) == set(TRIGGERS)
        assert set(programs["events"]) == set(EVENTS)
    finally:
        drop_tenant(db_server, restored)


def test_missing_server_binary_names_the_debian_package() -> None:
    with pytest.raises(FileNotFoundError, match="mariadb-server"):
        find_binary("no-such-mariadbd")


# -- Seeder ----------------------------------------------------------------


def _names(conn: Any, sql: str, schema: str) -> set[str]:
    with conn.cursor() as cur:
        cur.execute(sql, (schema,))
        return {str(r[0]) for r in cur.fetchall()}


def test_seeder_creates_the_schema_objects_it_reports(db_server: DatabaseServer,
                                                      seeded_tenant: SeedReport) -> None:
    schema = seeded_tenant.schema
    with db_server.connect(database=schema) as conn:
        tables = _names(conn, "SELECT table_name FROM information_schema.tables "
                              "WHERE table_schema=%s AND table_type='BASE TABLE'", schema)
        assert tables == set(seeded_tenant.rows)
        for table, count in seeded_tenant.rows.items():
            assert _scalar(conn, f"SELECT COUNT(*) FROM `{table}`") == count, table
        assert seeded_tenant.rows["appointments"] == 10 * seeded_tenant.rows["clients"]
        assert set(seeded_tenant.excluded_tables) <= tables

        assert _names(conn, "SELECT trigger_name FROM information_schema.triggers "
                            "WHERE trigger_schema=%s", schema) == set(TRIGGERS)
        assert _names(conn, "SELECT routine_name FROM information_schema.routines "
                            "WHERE routine_schema=%s AND routine_type='FUNCTION'",
                      schema) == set(FUNCTIONS)
        assert _names(conn, "SELECT routine_name FROM information_schema.routines "
                            "WHERE routine_schema=%s AND routine_type='PROCEDURE'",
                      schema) == set(PROCEDURES)
        assert _names(conn, "SELECT table_name FROM information_schema.views "
                            "WHERE table_schema=%s", schema) == set(VIEWS)
        assert _names(conn, "SELECT event_name FROM information_schema.events "
                            "WHERE event_schema=%s", schema) == set(EVENTS)
        fks = _names(conn, "SELECT CONCAT(table_name, '->', referenced_table_name) "
                           "FROM information_schema.referential_constraints "
                           "WHERE constraint_schema=%s", schema)
        assert {"care_plans->clients", "appointments->care_plans", "documents->clients",
                "import_rows->import_batches"} <= fks
        # The data dictionary is built from comments: none may be missing.
        assert _names(conn, "SELECT table_name FROM information_schema.tables WHERE "
                            "table_schema=%s AND table_type='BASE TABLE' AND "
                            "table_comment=''", schema) == set()
        assert _names(conn, "SELECT CONCAT(table_name, '.', column_name) FROM "
                            "information_schema.columns c JOIN information_schema.tables t "
                            "USING (table_schema, table_name) WHERE c.table_schema=%s AND "
                            "t.table_type='BASE TABLE' AND column_comment=''", schema) == set()
        assert _names(conn, "SELECT DISTINCT engine FROM information_schema.tables "
                            "WHERE table_schema=%s AND table_type='BASE TABLE'",
                      schema) == {"InnoDB"}

        with conn.cursor() as cur:
            cur.execute("SELECT full_name FROM clients WHERE id IN (1, 2) ORDER BY id")
            assert [r[0] for r in cur.fetchall()] == DUTCH_NAMES[:2]
        # BSN-like: 9 digits passing the 11-test, unique (the unique key enforces it).
        bsn = str(_scalar(conn, "SELECT bsn FROM clients WHERE id = 3"))
        digits = [int(d) for d in bsn]
        assert len(bsn) == 9
        assert (sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
                - digits[8]) % 11 == 0
        # BLOBs arrived intact: each image matches the digest computed before insert.
        assert _scalar(conn, "SELECT COUNT(*) FROM signatures "
                             "WHERE SHA2(image, 256) = CONVERT(image_sha256 USING utf8mb4)") \
            == seeded_tenant.rows["signatures"]


def test_seeded_trigger_routines_and_view_work(db_server: DatabaseServer,
                                               fresh_schema: str) -> None:
    report = seed_tenant(db_server, fresh_schema, clients=10, documents_dir=None, files=3)
    with db_server.connect(database=fresh_schema) as conn, conn.cursor() as cur:
        audit_before = _scalar(conn, "SELECT COUNT(*) FROM audit_log")
        cur.execute("UPDATE clients SET phone = '06-00000000' WHERE id = 1")
        assert _scalar(conn, "SELECT COUNT(*) FROM audit_log") == audit_before + 1  # type: ignore[operator]
        assert _scalar(conn, "SELECT action FROM audit_log WHERE table_name = 'clients' "
                             "ORDER BY id DESC LIMIT 1") == "update"

        cur.execute("UPDATE invoices SET status = 'betaald', paid_at = NULL WHERE id = 1")
        assert _scalar(conn, "SELECT paid_at IS NOT NULL FROM invoices WHERE id = 1") == 1

        assert _scalar(conn, "SELECT age_on('1950-06-01', '2025-05-31')") == 74
        cur.execute("CALL open_invoice_total(2, @total)")
        expected = _scalar(conn, "SELECT COALESCE(SUM(amount_excl_vat), 0) FROM invoices "
                                 "WHERE client_id = 2 AND status = 'verzonden'")
        assert _scalar(conn, "SELECT @total") == expected
        assert _scalar(conn, "SELECT COUNT(*) FROM v_open_invoices") == _scalar(
            conn, "SELECT COUNT(*) FROM invoices WHERE status = 'verzonden'")
    assert report.rows["documents"] == 3


def test_app_account_has_full_rights_on_its_schema_only(db_server: DatabaseServer,
                                                        fresh_schema: str) -> None:
    report = seed_tenant(db_server, fresh_schema, clients=5, documents_dir=None, files=0)
    app = db_server.connect(database=fresh_schema, user=report.app_user,
                          password=report.app_password)
    with app, app.cursor() as cur:
        cur.execute("INSERT INTO employees (id, personnel_number, first_name, last_name, role, "
                    "hired_on) VALUES (999, 'P999', 'Noël', 'de Wit', 'planner', '2024-01-01')")
        cur.execute("CREATE TABLE app_scratch (id INT PRIMARY KEY) ENGINE=InnoDB")
        cur.execute("DROP TABLE app_scratch")
        with pytest.raises(pymysql.err.OperationalError) as denied:
            cur.execute("SELECT COUNT(*) FROM mysql.user")
        assert denied.value.args[0] in (1142, 1044)  # table/db access denied
    with db_server.connect(database=fresh_schema) as conn:
        assert _scalar(conn, "SELECT first_name FROM employees WHERE id = 999") == "Noël"
    assert "app_password" not in repr(report)


def test_documents_tree_holds_the_reported_files(db_server: DatabaseServer,
                                                 seeded_tenant: SeedReport) -> None:
    root = seeded_tenant.documents_dir
    assert root is not None
    every = [p for p in root.rglob("*") if p.is_file()]
    kept = [p for p in every if p.relative_to(root).parts[0] not in EXCLUDED_DIRS]
    excluded = [p for p in every if p.relative_to(root).parts[0] in EXCLUDED_DIRS]
    assert len(kept) == seeded_tenant.files
    assert sum(p.stat().st_size for p in kept) == seeded_tenant.file_bytes
    assert len(excluded) == seeded_tenant.excluded_files
    assert sum(p.stat().st_size for p in excluded) == seeded_tenant.excluded_file_bytes
    for folder in EXCLUDED_DIRS:
        assert any((root / folder).rglob("*.*")), folder
    names = {p.name for p in every}
    assert "zorgplan van 't Hof.docx" in names
    assert any(n.startswith("Verslag ÿ ") for n in names)
    sizes = [p.stat().st_size for p in kept]
    assert min(sizes) == 0 and max(sizes) > 64 * 1024  # mixed sizes, an empty file included

    # Every documents row points at a file with the recorded size and digest.
    with db_server.connect(database=seeded_tenant.schema) as conn, conn.cursor() as cur:
        cur.execute("SELECT relative_path, size_bytes, sha256 FROM documents")
        rows = cur.fetchall()
    assert len(rows) == seeded_tenant.files
    for relative_path, size, digest in rows:
        data = (root / relative_path).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (size, digest), relative_path


def test_document_plan_is_deterministic_per_seed() -> None:
    names = [("Jeroen", "van 't", "Hof"), ("Ängela", "", "Dijkstra-Öztürk")]
    assert plan_documents(1, 20, names) == plan_documents(1, 20, names)
    assert plan_documents(1, 20, names) != plan_documents(2, 20, names)


def test_seed_cli_prints_a_report_without_the_password(db_server: DatabaseServer, fresh_schema: str,
                                                      tmp_path: Path) -> None:
    env = {**os.environ, "MYSQL_PWD": db_server.root_password}
    result = subprocess.run(
        [sys.executable, "-m", "tests.localcluster.seed", "--host", db_server.host,
         "--port", str(db_server.port), "--user", db_server.root_user,
         "--schema", fresh_schema, "--clients", "3", "--files", "4",
         "--documents-dir", str(tmp_path / "docs")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    report = json.loads(result.stdout)
    assert report["schema"] == fresh_schema and report["files"] == 4
    assert "app_password" not in report and db_server.root_password not in result.stdout
    with db_server.connect(database=fresh_schema) as conn:
        assert _scalar(conn, "SELECT COUNT(*) FROM clients") == 3
    help_text = subprocess.run([sys.executable, "-m", "tests.localcluster.seed", "--help"],
                               cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "--documents-dir" in help_text


# -- S3 --------------------------------------------------------------------


def test_s3_round_trips_an_object_over_http(s3_server: S3Server, fresh_bucket: str) -> None:
    s3 = s3_server.client()
    key = "zorggroep/Verslag ÿ 2024.pdf"
    body = b"%PDF-1.4\n" + os.urandom(1000)
    s3.put_object(Bucket=fresh_bucket, Key=key, Body=body, Metadata={"sha256": "x"})

    got = s3.get_object(Bucket=fresh_bucket, Key=key)
    assert got["Body"].read() == body
    assert got["Metadata"] == {"sha256": "x"}
    listed = s3.list_objects_v2(Bucket=fresh_bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [(key, len(body))]
    assert s3_server.endpoint_url.startswith("http://127.0.0.1:")


def test_s3_multipart_upload(s3_server: S3Server, fresh_bucket: str, tmp_path: Path) -> None:
    s3 = s3_server.client()
    part_size = 5 * 1024 * 1024  # S3's minimum for all but the last part
    parts_data = [os.urandom(part_size), os.urandom(1234)]
    upload = s3.create_multipart_upload(Bucket=fresh_bucket, Key="dump.sql.zst.age")
    parts: list[CompletedPartTypeDef] = []
    for number, data in enumerate(parts_data, start=1):
        etag = s3.upload_part(Bucket=fresh_bucket, Key="dump.sql.zst.age", PartNumber=number,
                              UploadId=upload["UploadId"], Body=data)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    done = s3.complete_multipart_upload(Bucket=fresh_bucket, Key="dump.sql.zst.age",
                                        UploadId=upload["UploadId"],
                                        MultipartUpload={"Parts": parts})
    assert done["ETag"].strip('"').endswith("-2")  # a multipart ETag is not a digest
    stored = s3.get_object(Bucket=fresh_bucket, Key="dump.sql.zst.age")["Body"].read()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(b"".join(parts_data)).digest()

    # The managed transfer (classic client) also goes multipart against the endpoint.
    source = tmp_path / "archive.tar"
    source.write_bytes(os.urandom(11 * 1024 * 1024))
    s3.upload_file(str(source), fresh_bucket, "archive.tar",
                   Config=transfer_config(multipart_threshold=part_size,
                                          multipart_chunksize=part_size))
    head = s3.head_object(Bucket=fresh_bucket, Key="archive.tar")
    assert head["ContentLength"] == source.stat().st_size
    assert head["ETag"].strip('"').endswith("-3")


def test_stopped_s3_server_refuses_connections_and_restarts_empty(tmp_path: Path) -> None:
    with S3Server(workdir=tmp_path) as server:
        s3 = server.client(retries={"max_attempts": 1})
        server.create_bucket("before-stop")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["before-stop"]

        server.stop()
        assert server.pid is None
        with pytest.raises(EndpointConnectionError):
            s3.list_buckets()

        server.start()
        # moto keeps state in memory only: a restart is an empty store on the same port.
        assert s3.list_buckets()["Buckets"] == []
