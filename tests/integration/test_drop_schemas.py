"""Issue 10, scenario 3: the irreversible DROP matches schema names exactly and
never drops a system schema, on a real MariaDB (lower_case_table_names=0, the
Linux default, where `ons` and `ONS` are two schemas).

MariaDB only for now: the harness has no MySQL server yet; information_schema
compares case-insensitively on both families.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tenant_exit.mysql.connect import connect
from tenant_exit.mysql.drop import DropRefused, drop_schemas, existing_schemas
from tests.localcluster.mariadb import MariaDBServer


@pytest.fixture
def neighbours(mariadb: MariaDBServer) -> Iterator[tuple[str, str]]:
    """`ons_<x>` (the tenant's) and `ONS_<X>` (a neighbour's) on one server."""
    lower = f"ons_{uuid.uuid4().hex[:8]}"
    upper = lower.upper()
    conn = mariadb.connect()
    with conn.cursor() as cur:
        for name in (lower, upper):
            cur.execute(f"CREATE DATABASE `{name}`")
            cur.execute(f"CREATE TABLE `{name}`.clients (id INT PRIMARY KEY)")
    conn.close()
    yield lower, upper
    conn = mariadb.connect()
    with conn.cursor() as cur:
        for name in (lower, upper):
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


def _schemas(mariadb: MariaDBServer) -> set[str]:
    conn = mariadb.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        found = {str(row[0]) for row in cur.fetchall()}
    conn.close()
    return found


def test_dropping_ons_leaves_ONS(mariadb: MariaDBServer, neighbours: tuple[str, str]) -> None:
    lower, upper = neighbours
    with connect(mariadb.host, mariadb.port, mariadb.root_user, mariadb.root_password) as conn:
        assert existing_schemas(conn, [lower]) == [lower]
        dropped = drop_schemas(conn, [lower])
        assert dropped == [lower]
        assert drop_schemas(conn, [lower]) == [lower], "a retry reports the same"
    schemas = _schemas(mariadb)
    assert lower not in schemas
    assert upper in schemas, "the neighbour's schema was dropped with the tenant's"


@pytest.mark.parametrize("system", ["MYSQL", "mysql", "Sys"])
def test_a_system_schema_is_refused_and_nothing_is_dropped(
        mariadb: MariaDBServer, neighbours: tuple[str, str], system: str) -> None:
    lower, upper = neighbours
    with connect(mariadb.host, mariadb.port, mariadb.root_user, mariadb.root_password) as conn, \
            pytest.raises(DropRefused, match="system schema"):
        drop_schemas(conn, [lower, system])
    assert {lower, upper, "mysql"} <= _schemas(mariadb)
