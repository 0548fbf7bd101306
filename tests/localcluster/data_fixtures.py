"""pytest fixtures for the data services: MariaDB, MySQL, the S3 server, demo tenants.

Session-scoped servers are shared by every test of a run; a test must leave
them running. `db_server` is the database of either family (families.py); the
fixtures `mariadb` and `mysql_server` are for tests about one family. Tests
that stop, kill or restart a server (fault tests) start their own instance
instead: `with MariaDBServer() as db:` / `with MySQLServer() as db:` /
`with S3Server() as s3:` — about 3 s, 3 s and 1 s to start.

TENANT_EXIT_TEST_MYSQL_URL=mysql://user:password@host:port puts a server of the
user's own behind `mysql_server` instead of a private one.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.families import parametrize_db_server
from tests.localcluster.mariadb import MariaDBServer
from tests.localcluster.mysqlserver import ExternalMySQLServer, MySQLServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import SeedReport, drop_tenant, seed_tenant


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBServer]:
    """A private MariaDB server for the whole session (root over TCP on 127.0.0.1)."""
    # tmp_path_factory paths are short enough for the unix socket's sun_path.
    server = MariaDBServer(workdir=Path(tmp_path_factory.mktemp("mariadb")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mysql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseServer]:
    """A private Oracle MySQL server for the whole session (managed-8.0 settings:
    GTIDs and binary log on), or the user's own from TENANT_EXIT_TEST_MYSQL_URL."""
    url = os.environ.get("TENANT_EXIT_TEST_MYSQL_URL")
    if url:
        yield ExternalMySQLServer(url)
        return
    server = MySQLServer(workdir=Path(tmp_path_factory.mktemp("mysql")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


_FIXTURE_OF_FAMILY = {"mariadb": "mariadb", "mysql": "mysql_server"}


@pytest.fixture(scope="session")
def db_server(request: pytest.FixtureRequest) -> DatabaseServer:
    """The session's database server of each family (ids `mariadb`, `mysql`);
    parametrized by `pytest_generate_tests` below (families.py)."""
    server: DatabaseServer = request.getfixturevalue(_FIXTURE_OF_FAMILY[request.param])
    return server


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_db_server(metafunc)


def pytest_configure(config: pytest.Config) -> None:
    for family in _FIXTURE_OF_FAMILY:
        config.addinivalue_line("markers", f"{family}: runs on the {family} server family")
    config.addinivalue_line("markers", "db_family(family, reason): db_server on one family "
                                       "only (families.only_on)")
    config.addinivalue_line("markers", "large_blob: the tenant holds a BLOB over 16 MiB")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server over HTTP for the whole session; state lives only in memory."""
    server = S3Server(workdir=Path(tmp_path_factory.mktemp("s3")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_schema(db_server: DatabaseServer) -> Iterator[str]:
    """A unique, not yet existing schema name on `db_server`; the schema and its
    app account are dropped afterwards (whether the test created them or the
    seeder did)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    drop_tenant(db_server, name)


@pytest.fixture
def fresh_bucket(s3_server: S3Server) -> Iterator[str]:
    """A new, empty bucket; emptied and deleted afterwards."""
    name = s3_server.create_bucket(f"t-{uuid.uuid4().hex[:16]}")
    yield name
    s3 = s3_server.client()
    # Best effort: the test may have deleted objects or the bucket itself.
    with contextlib.suppress(BotoCoreError, ClientError):
        for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=name, Key=upload["Key"],
                                      UploadId=upload["UploadId"])
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=name, Key=obj["Key"])
        s3.delete_bucket(Bucket=name)


@pytest.fixture(scope="session")
def seeded_tenant(db_server: DatabaseServer,
                  tmp_path_factory: pytest.TempPathFactory) -> SeedReport:
    """A small demo tenant (schema `demo_zorg`, 40 clients, 30 documents) on
    `db_server`, shared by the session. READ-ONLY by convention: tests that
    write seed their own with `seed_tenant(db_server, fresh_schema, ...)`."""
    documents = Path(tmp_path_factory.mktemp("documents"))
    return seed_tenant(db_server, "demo_zorg", clients=40, documents_dir=documents, files=30,
                       seed=7, replace=True)
