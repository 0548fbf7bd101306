"""Issue 10, scenario 3: the irreversible DROP matches schema names exactly and
never drops a system schema, on real MariaDB and MySQL servers
(lower_case_table_names=0, the Linux default, where `ons` and `ONS` are two
schemas; information_schema compares case-insensitively on both families).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tenant_exit.mysql.connect import Connection, connect
from tenant_exit.mysql.drop import DropRefused, drop_schemas, existing_schemas
from tests.localcluster.dbserver import DatabaseServer


@pytest.fixture
def neighbours(db_server: DatabaseServer) -> Iterator[tuple[str, str]]:
    """`ons_<x>` (the tenant's) and `ONS_<X>` (a neighbour's) on one server."""
    lower = f"ons_{uuid.uuid4().hex[:8]}"
    upper = lower.upper()
    conn = db_server.connect()
    with conn.cursor() as cur:
        for name in (lower, upper):
            cur.execute(f"CREATE DATABASE `{name}`")
            cur.execute(f"CREATE TABLE `{name}`.clients (id INT PRIMARY KEY)")
    conn.close()
    yield lower, upper
    conn = db_server.connect()
    with conn.cursor() as cur:
        for name in (lower, upper):
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


def _root(db: DatabaseServer) -> Connection:
    """The product's own connect (as the operator's drop connects)."""
    return connect(db.host, db.port, db.root_user, db.root_password)


def _schemas(db_server: DatabaseServer) -> set[str]:
    conn = db_server.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        found = {str(row[0]) for row in cur.fetchall()}
    conn.close()
    return found


def test_dropping_ons_leaves_ONS(db_server: DatabaseServer, neighbours: tuple[str, str]) -> None:
    lower, upper = neighbours
    with _root(db_server) as conn:
        assert existing_schemas(conn, [lower]) == [lower]
        dropped = drop_schemas(conn, [lower])
        assert dropped == [lower]
        assert drop_schemas(conn, [lower]) == [lower], "a retry reports the same"
    schemas = _schemas(db_server)
    assert lower not in schemas
    assert upper in schemas, "the neighbour's schema was dropped with the tenant's"


@pytest.mark.parametrize("system", ["MYSQL", "mysql", "Sys"])
def test_a_system_schema_is_refused_and_nothing_is_dropped(
        db_server: DatabaseServer, neighbours: tuple[str, str], system: str) -> None:
    lower, upper = neighbours
    with _root(db_server) as conn, \
            pytest.raises(DropRefused, match="system schema"):
        drop_schemas(conn, [lower, system])
    assert {lower, upper, "mysql"} <= _schemas(db_server)
