"""The mysql adapters against a real server of each family: the data dictionary of
generated, invisible and CHECK-constrained columns, dropping schemas (also under
MySQL's super_read_only), and MySQL's caching_sha2_password accounts over TLS and
without it."""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import UTC, datetime

import pymysql
import pytest

from tenant_exit.mysql import drop, readonly
from tenant_exit.mysql.connect import connect
from tenant_exit.mysql.dictionary import read_dictionary
from tenant_exit.mysql.server import ServerFamily, read_server
from tenant_exit.worker.clients import find_client
from tenant_exit.worker.dump import dump_argv, dump_is_complete
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.families import only_on
from tests.localcluster.seed import seed_tenant


def _connect(db: DatabaseServer):  # type: ignore[no-untyped-def]
    return connect(db.host, db.port, db.root_user, db.root_password)


@pytest.fixture
def feature_schema(db_server: DatabaseServer, fresh_schema: str) -> str:
    """The seeded tenant: its clinical tables hold generated, invisible and
    CHECK-constrained columns (and on MySQL a functional index)."""
    seed_tenant(db_server, fresh_schema, clients=3, documents_dir=None, files=0)
    return fresh_schema


def test_server_family_is_read_from_the_server(db_server: DatabaseServer) -> None:
    with _connect(db_server) as conn:
        server = read_server(conn)
    assert server.family.value == db_server.family
    assert server.version == db_server.version
    assert (server.gtid_mode == "ON") is (db_server.family == "mysql")  # harness: GTIDs on
    assert server.sql_mode  # recorded in the manifest


def test_dictionary_describes_generated_invisible_columns_and_checks(
        db_server: DatabaseServer, feature_schema: str) -> None:
    with _connect(db_server) as conn:
        server = read_server(conn)
        dictionary = read_dictionary(conn, [feature_schema], generated_at=datetime.now(UTC),
                                     server=server, row_counts={}, excluded={})
    [schema] = dictionary.schemas
    tables = {t.name: t for t in schema.tables}
    columns = {c.name: c for c in tables["care_measurements"].columns}
    assert "weight_kg" in columns["bmi"].generation_expression
    assert "VIRTUAL" in columns["bmi"].extra
    assert "STORED" in columns["weight_class"].extra
    assert columns["weight_class"].generation_expression
    assert columns["device_ref"].invisible and not columns["bmi"].invisible
    checks = {c.name: c.clause for c in tables["care_measurements"].checks}
    assert {"chk_care_measurements_weight", "chk_care_measurements_height"} <= set(checks)
    assert "between" in checks["chk_care_measurements_height"].lower()
    indexes = {i.name: i.columns for i in tables["care_measurements"].indexes}
    if server.family is ServerFamily.MYSQL:
        assert indexes["ix_care_measurements_day"] == ["(cast(`measured_at` as date))"]
    assert "None" not in str(indexes)  # a functional part is never an empty column name
    assert schema.character_set == "utf8mb4"


def test_drop_removes_the_schemas_and_is_idempotent(db_server: DatabaseServer,
                                                    feature_schema: str) -> None:
    with _connect(db_server) as conn:
        # What the certificate records: every listed schema, read back as gone.
        listed = [feature_schema, "no_such_schema"]
        assert drop.drop_schemas(conn, listed) == sorted(listed)
        assert drop.existing_schemas(conn, [feature_schema]) == []
        assert drop.drop_schemas(conn, [feature_schema]) == [feature_schema]


@only_on("mysql", "super_read_only, which refuses DROP DATABASE even to SUPER, is MySQL's")
def test_drop_works_under_server_read_only_and_keeps_it(db_server: DatabaseServer,
                                                        feature_schema: str) -> None:
    with _connect(db_server) as conn:
        before = readonly.read_flags(conn)
        readonly.set_read_only(conn, True)
        try:
            with pytest.raises(pymysql.err.MySQLError) as refused, conn.cursor() as cur:
                cur.execute("CREATE DATABASE `srodrop_probe`")
            assert refused.value.args[0] == 1290  # the flag really stops the operator
            assert drop.drop_schemas(conn, [feature_schema]) == [feature_schema]
            assert readonly.read_flags(conn) == {"readOnly": True, "superReadOnly": True}
        finally:
            readonly.restore_flags(conn, before)
        assert drop.existing_schemas(conn, [feature_schema]) == []


@only_on("mysql", "caching_sha2_password is MySQL's default (and 9.7's only) account kind")
def test_caching_sha2_accounts_dump_over_tls_and_without(db_server: DatabaseServer,
                                                         feature_schema: str) -> None:
    user, password = f"sha2_{uuid.uuid4().hex[:8]}", "sha2-pw-1"
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED WITH caching_sha2_password BY "
                    f"'{password}'")
        cur.execute(f"GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON `{feature_schema}`.* "
                    f"TO '{user}'@'%'")
    try:
        # pymysql: no TLS; the first login of a new account needs the full exchange
        # (RSA through the `cryptography` package).
        with connect(db_server.host, db_server.port, user, password) as conn:
            server = read_server(conn)
        client = find_client(server, None, lambda name: db_server.dump_tool)
        argv = dump_argv(client, host=db_server.host, port=db_server.port, user=user,
                         schema=feature_schema, ignore_tables=[])
        env = dict(os.environ, MYSQL_PWD=password)

        def dump(*extra: str, drop_flag: str | None = None) -> subprocess.CompletedProcess[bytes]:
            args = [a for a in argv if a != drop_flag]
            return subprocess.run([*args[:-1], *extra, args[-1]], env=env, capture_output=True,
                                  timeout=120, check=False)

        def forget_cached_password() -> None:
            with db_server.connect() as conn, conn.cursor() as cur:
                cur.execute(f"ALTER USER '{user}'@'%' IDENTIFIED BY '{password}'")

        forget_cached_password()
        plain = dump("--ssl-mode=DISABLED", drop_flag="--get-server-public-key")
        assert plain.returncode != 0  # without TLS the key exchange needs the flag
        assert b"secure connection" in plain.stderr, plain.stderr
        forget_cached_password()
        without_tls = dump("--ssl-mode=DISABLED")
        assert without_tls.returncode == 0, without_tls.stderr
        forget_cached_password()
        over_tls = dump("--ssl-mode=REQUIRED")
        assert over_tls.returncode == 0, over_tls.stderr
        for result in (without_tls, over_tls):
            assert dump_is_complete(result.stdout[-200:])
            assert b"CREATE TABLE `care_measurements`" in result.stdout
    finally:
        with db_server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
