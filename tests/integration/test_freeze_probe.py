"""The write freeze read back from a real server of each family (MariaDB, Oracle
MySQL) before a backup Job may start (issue 10, item 4): while the application
account can still write, the probe names the account and what it holds; once
RevokeWrites is in force the probe finds nothing, and the account's writes are
indeed refused. ServerReadOnly is in force only while the server's flags are on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from tenant_exit.api.spec import DatabaseReadOnlyMode
from tenant_exit.mysql import grants, readonly
from tenant_exit.mysql.freeze import freeze_problems
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.seed import SeedReport, seed_tenant


@pytest.fixture
def tenant(db_server: DatabaseServer, fresh_schema: str) -> SeedReport:
    return seed_tenant(db_server, fresh_schema, clients=2, documents_dir=None, files=0)


@pytest.fixture
def root(db_server: DatabaseServer) -> Iterator[Any]:
    conn = db_server.connect()
    yield conn
    conn.close()


def test_revoke_writes_is_in_force_only_once_no_write_grant_is_left(
        root: Any, db_server: DatabaseServer, tenant: SeedReport) -> None:
    before = freeze_problems(root, DatabaseReadOnlyMode.REVOKE_WRITES, [tenant.schema], None)
    assert len(before) == 1, before
    assert before[0].startswith(f"{tenant.app_user}@% still holds ")
    assert f"INSERT on `{tenant.schema}`.*" in before[0]

    plan = grants.plan_revocation(root, [tenant.schema], None)
    grants.kill_sessions(root, grants.revoke(root, plan))
    try:
        assert freeze_problems(root, DatabaseReadOnlyMode.REVOKE_WRITES, [tenant.schema],
                               None) == []
        # What the probe reads is what refuses the application's write.
        app = db_server.connect(database=tenant.schema, user=tenant.app_user,
                                password=tenant.app_password)
        with pytest.raises(pymysql.err.MySQLError), app.cursor() as cur:
            cur.execute("INSERT INTO clients (id) VALUES (999997)")
        app.close()
        # A write grant restored by hand is seen again.
        with root.cursor() as cur:
            cur.execute(f"GRANT INSERT ON `{tenant.schema}`.`clients` TO %s@'%%'",
                        (tenant.app_user,))
        again = freeze_problems(root, DatabaseReadOnlyMode.REVOKE_WRITES, [tenant.schema], None)
        assert again == [f"{tenant.app_user}@% still holds INSERT on "
                         f"`{tenant.schema}`.`clients`"], again
    finally:
        with root.cursor() as cur:
            cur.execute(f"REVOKE INSERT ON `{tenant.schema}`.`clients` FROM %s@'%%'",
                        (tenant.app_user,))
        grants.restore(root, plan)


def test_server_read_only_is_in_force_only_while_the_flags_are_on(
        root: Any, db_server: DatabaseServer, tenant: SeedReport) -> None:
    flags = readonly.read_flags(root)
    try:
        readonly.restore_flags(root, {name: False for name in flags})
        off = freeze_problems(root, DatabaseReadOnlyMode.SERVER_READ_ONLY, [tenant.schema], None)
        assert "the server's readOnly is off" in off
        readonly.set_read_only(root, True)
        assert freeze_problems(root, DatabaseReadOnlyMode.SERVER_READ_ONLY, [tenant.schema],
                               None) == []
    finally:
        readonly.restore_flags(root, flags)
