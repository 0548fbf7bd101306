"""RevokeWrites and ServerReadOnly against a real server of each family
(MariaDB, Oracle MySQL): the application account can read but not write or
change the schema, and a cancel restores SHOW GRANTS exactly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from tenant_exit.mysql import grants, readonly
from tenant_exit.mysql.grants import Account, GrantProblem
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.seed import SeedReport, seed_tenant

ACCESS_DENIED = {1142, 1143, 1044, 1290}  # table/column/db denied; 1290 = read_only


@pytest.fixture
def tenant(db_server: DatabaseServer, fresh_schema: str) -> SeedReport:
    return seed_tenant(db_server, fresh_schema, clients=2, documents_dir=None, files=0)


@pytest.fixture
def root(db_server: DatabaseServer) -> Iterator[Any]:
    conn = db_server.connect()
    yield conn
    conn.close()


def app(db_server: DatabaseServer, tenant: SeedReport) -> Any:
    return db_server.connect(
        database=tenant.schema, user=tenant.app_user, password=tenant.app_password
    )


def refused(conn: Any, sql: str) -> int:
    with pytest.raises(pymysql.err.MySQLError) as error, conn.cursor() as cur:
        cur.execute(sql)
    code = error.value.args[0]
    assert code in ACCESS_DENIED, error.value
    return int(code)


def account(tenant: SeedReport) -> Account:
    return Account(tenant.app_user, "%")


WRITES = [
    "INSERT INTO clients (id) VALUES (999999)",
    "UPDATE clients SET first_name = 'x' LIMIT 1",
    "DELETE FROM clients LIMIT 1",
    "CREATE TABLE sneaky (id INT)",
    "ALTER TABLE clients ADD COLUMN sneaky INT",
    "DROP TABLE audit_log",
    "CREATE INDEX sneaky ON clients (id)",
    "LOCK TABLES clients WRITE",
]


def test_revoke_writes_blocks_writes_and_ddl_but_keeps_reads(root, db_server, tenant) -> None:
    before = grants.show_grants(root, account(tenant))
    plan = grants.plan_revocation(root, [tenant.schema], None)
    assert plan.accounts == [account(tenant)]
    assert grants.revoke(root, plan) == [account(tenant)]

    conn = app(db_server, tenant)
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM clients")
        assert cur.fetchone()[0] == tenant.rows["clients"]
    for sql in WRITES:
        refused(conn, sql)
    conn.close()

    assert grants.restore(root, plan) == []
    assert sorted(grants.show_grants(root, account(tenant))) == sorted(before)
    conn = app(db_server, tenant)
    with conn.cursor() as cur:
        cur.execute("UPDATE clients SET first_name = first_name LIMIT 1")
    conn.close()


def test_revoking_again_revokes_nothing_and_kills_nobody(root, db_server, tenant) -> None:
    plan = grants.plan_revocation(root, [tenant.schema], None)
    grants.revoke(root, plan)
    assert grants.revoke(root, plan) == []
    again = grants.plan_revocation(root, [tenant.schema], None)
    assert again.revocations == ()
    grants.restore(root, plan)


def test_open_sessions_are_ended_so_the_revoke_applies_at_once(root, db_server, tenant) -> None:
    session = app(db_server, tenant)
    plan = grants.plan_revocation(root, [tenant.schema], None)
    lost = grants.revoke(root, plan)
    assert grants.kill_sessions(root, lost) >= 1
    with pytest.raises(pymysql.err.OperationalError):
        with session.cursor() as cur:
            cur.execute("INSERT INTO clients (id) VALUES (999998)")
    grants.restore(root, plan)


def test_table_and_column_grants_are_revoked_and_restored_exactly(root, db_server, tenant) -> None:
    user = f"rep_{uuid.uuid4().hex[:8]}"
    reporter = Account(user, "localhost")
    with root.cursor() as cur:
        cur.execute("CREATE USER %s@'localhost' IDENTIFIED BY 'pw-reporter'", (user,))
        cur.execute(
            f"GRANT SELECT, INSERT ON `{tenant.schema}`.`invoices` TO %s@'localhost'", (user,)
        )
        cur.execute(
            f"GRANT UPDATE (first_name) ON `{tenant.schema}`.`clients` TO %s@'localhost'", (user,)
        )
    try:
        before = grants.show_grants(root, reporter)
        plan = grants.plan_revocation(root, [tenant.schema], [reporter])
        assert {(r.privilege, r.table, r.column) for r in plan.revocations} == {
            ("INSERT", "invoices", None),
            ("UPDATE", "clients", "first_name"),
        }
        grants.revoke(root, plan)
        after = "\n".join(grants.show_grants(root, reporter))
        assert "INSERT" not in after and "UPDATE" not in after and "SELECT" in after
        assert grants.restore(root, plan) == []
        assert sorted(grants.show_grants(root, reporter)) == sorted(before)
    finally:
        with root.cursor() as cur:
            cur.execute("DROP USER %s@'localhost'", (user,))


@pytest.mark.parametrize(
    ("grant", "message"),
    [
        ("GRANT INSERT ON *.* TO {who}", "on *.*"),
        ("GRANT INSERT ON `{pattern}`.* TO {who}", "schema pattern"),
    ],
)
def test_what_revoke_writes_cannot_narrow_is_refused(root, tenant, grant, message) -> None:
    user = f"wide_{uuid.uuid4().hex[:8]}"
    who = f"'{user}'@'%'"
    pattern = tenant.schema[:-2] + "%"
    with root.cursor() as cur:
        cur.execute(f"CREATE USER {who}")
        cur.execute(grant.format(who=who, pattern=pattern))
    try:
        with pytest.raises(GrantProblem, match="ServerReadOnly") as problem:
            grants.plan_revocation(root, [tenant.schema], [Account(user, "%")])
        assert message in str(problem.value)
    finally:
        with root.cursor() as cur:
            cur.execute(f"DROP USER {who}")


def test_server_read_only_blocks_accounts_without_admin_rights(root, db_server, tenant) -> None:
    was = readonly.read_only(root)
    readonly.set_read_only(root, True)
    try:
        conn = app(db_server, tenant)
        refused(conn, "INSERT INTO clients (id) VALUES (999997)")
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM clients")
        conn.close()
    finally:
        readonly.set_read_only(root, was)
    assert readonly.read_only(root) is was
