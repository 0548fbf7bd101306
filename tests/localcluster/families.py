"""Which database families a test run covers, and how a test pins one.

Every test that uses `db_server` (data_fixtures.py), directly or through
`fresh_schema`, `seeded_tenant` or `exit_tenant`, is parametrized over the
families in TENANT_EXIT_TEST_DB_FAMILIES (default: both), ids `mariadb` and
`mysql`, each marked with its family's marker (`-m mysql` selects the MySQL
runs). A test or module that cannot run on every family yet says so with
`only_on(...)`; deleting that mark puts it on both.
"""

from __future__ import annotations

import os

import pytest

from tests.localcluster.dbserver import FAMILIES, Family
from tests.localcluster.mariadb import MariaDBServer
from tests.localcluster.mysqlserver import MySQLServer

# The first line of each family's own dump (after MariaDB's sandbox line).
DUMP_HEADER: dict[Family, bytes] = {"mariadb": b"-- MariaDB dump", "mysql": b"-- MySQL dump"}


def selected_families() -> tuple[Family, ...]:
    raw = os.environ.get("TENANT_EXIT_TEST_DB_FAMILIES", ",".join(FAMILIES))
    chosen = tuple(f for f in FAMILIES if f in {p.strip() for p in raw.split(",")})
    if not chosen:
        raise ValueError(f"TENANT_EXIT_TEST_DB_FAMILIES={raw!r} names none of {FAMILIES}")
    return chosen


def family_params(families: tuple[Family, ...] | None = None) -> list[object]:
    return [pytest.param(f, id=f, marks=getattr(pytest.mark, f))
            for f in (families if families is not None else selected_families())]


def only_on(family: Family, reason: str) -> pytest.MarkDecorator:
    """Run the marked test's (or module's) `db_server` on `family` only; tests
    that use no database are unaffected. `reason` is shown by `--markers`-style
    introspection and is for the reader."""
    return pytest.mark.db_family(family, reason=reason)


def parametrize_db_server(metafunc: pytest.Metafunc) -> None:
    """pytest_generate_tests: `db_server` over the selected families, or the one
    an `only_on` mark names."""
    if "db_server" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("db_family")
    families = selected_families()
    if marker is not None:
        families = tuple(f for f in families if f == marker.args[0])
    metafunc.parametrize("db_server", family_params(families), indirect=True, scope="session")


PrivateServer = MariaDBServer | MySQLServer


def server_type(family: Family) -> type[PrivateServer]:
    """The private server class of `family`, for tests that stop or kill their
    own server rather than the session's."""
    return MariaDBServer if family == "mariadb" else MySQLServer
