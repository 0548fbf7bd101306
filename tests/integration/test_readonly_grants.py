"""RevokeWrites and ServerReadOnly against a real server of each family
(MariaDB, Oracle MySQL): the application account can read but not write or
change the schema, and a cancel restores SHOW GRANTS exactly. The MySQL-only tests
at the end cover what MariaDB does not have: writes through default roles, partial
revokes, super_read_only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from tenant_exit.mysql import grants, readonly
from tenant_exit.mysql.grants import Account, GrantProblem
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.families import only_on
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


# --- MySQL 8.0+ only: roles, partial revokes and super_read_only do not exist (or
# --- are not used) on MariaDB, whose tests above cover its model.

def _id() -> str:
    return uuid.uuid4().hex[:8]


@only_on("mysql", "roles granted as default roles, partial_revokes and super_read_only are "
                  "MySQL 8.0+ features")
def test_a_write_granted_through_a_default_role_is_revoked_and_restored_exactly(
        root, db_server, tenant) -> None:
    role, user = f"writer_{_id()}", f"app_{_id()}"
    with root.cursor() as cur:
        cur.execute(f"CREATE ROLE '{role}'@'%'")
        cur.execute(f"GRANT INSERT, UPDATE, DELETE ON `{tenant.schema}`.* TO '{role}'@'%'")
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'app-pw-1'")
        cur.execute(f"GRANT SELECT ON `{tenant.schema}`.* TO '{user}'@'%'")
        cur.execute(f"GRANT '{role}'@'%' TO '{user}'@'%'")
        cur.execute(f"SET DEFAULT ROLE '{role}'@'%' TO '{user}'@'%'")
    accounts = [Account(user, "%"), Account(role, "%")]
    try:
        before = {a: grants.show_grants(root, a) for a in accounts}
        writer = db_server.connect(database=tenant.schema, user=user, password="app-pw-1")
        with writer.cursor() as cur:  # the role is active at login: the account writes
            cur.execute("UPDATE clients SET first_name = first_name LIMIT 1")

        # Only the user is listed; its role is found and loses the writes.
        plan = grants.plan_revocation(root, [tenant.schema], [Account(user, "%")])
        assert {r.account for r in plan.revocations} == {Account(role, "%")}
        lost = grants.revoke(root, plan)
        assert grants.kill_sessions(root, lost) >= 1  # the user's session, via the role
        with pytest.raises(pymysql.err.MySQLError):
            with writer.cursor() as cur:
                cur.execute("SELECT 1")
        again = db_server.connect(database=tenant.schema, user=user, password="app-pw-1")
        for sql in WRITES[:3]:
            refused(again, sql)
        with again.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM clients")
        again.close()

        assert grants.restore(root, plan) == []
        assert {a: grants.show_grants(root, a) for a in accounts} == before
    finally:
        with root.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            cur.execute(f"DROP ROLE IF EXISTS '{role}'@'%'")


@only_on("mysql", "partial_revokes is a MySQL 8.0.16+ feature")
def test_partial_revokes_narrow_a_global_writer_to_the_tenant_and_cancel_lifts_them(
        root, db_server, tenant) -> None:
    user, other = f"glob_{_id()}", f"other_{_id()}"
    with root.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.partial_revokes")
        was = int(cur.fetchone()[0])
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'glob-pw-1'")
        cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON *.* TO '{user}'@'%'")
        cur.execute(f"CREATE DATABASE `{other}`")
        cur.execute(f"CREATE TABLE `{other}`.t (id INT)")
    who = Account(user, "%")
    try:
        with root.cursor() as cur:
            cur.execute("SET GLOBAL partial_revokes = OFF")
        with pytest.raises(GrantProblem, match="partial_revokes"):
            grants.plan_revocation(root, [tenant.schema], [who])

        with root.cursor() as cur:
            cur.execute("SET GLOBAL partial_revokes = ON")
        before = grants.show_grants(root, who)
        plan = grants.plan_revocation(root, [tenant.schema], [who])
        assert grants.revoke(root, plan) == [who]
        assert grants.revoke(root, plan) == []  # idempotent: the partial revokes hold
        conn = db_server.connect(database=tenant.schema, user=user, password="glob-pw-1")
        for sql in (*WRITES[:3], "CREATE TABLE sneaky (id INT)"):
            refused(conn, sql)
        with conn.cursor() as cur:  # only the tenant is narrowed
            cur.execute(f"INSERT INTO `{other}`.t VALUES (1)")
            cur.execute("SELECT COUNT(*) FROM clients")
        conn.close()
        assert grants.restore(root, plan) == []
        assert grants.show_grants(root, who) == before
    finally:
        with root.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            cur.execute(f"DROP DATABASE IF EXISTS `{other}`")
            cur.execute(f"SET GLOBAL partial_revokes = {was}")


@only_on("mysql", "super_read_only exists on MySQL only")
def test_server_read_only_stops_super_accounts_and_restores_both_flags(
        root, db_server, tenant) -> None:
    user = f"super_{_id()}"
    with root.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'super-pw-1'")
        cur.execute(f"GRANT ALL ON *.* TO '{user}'@'%'")  # SUPER and CONNECTION_ADMIN
    before = readonly.read_flags(root)
    assert before == {"readOnly": False, "superReadOnly": False}
    try:
        readonly.set_read_only(root, True)
        assert readonly.read_flags(root) == {"readOnly": True, "superReadOnly": True}
        conn = db_server.connect(database=tenant.schema, user=user, password="super-pw-1")
        assert refused(conn, "INSERT INTO clients (id) VALUES (999996)") == 1290
        conn.close()
        readonly.restore_flags(root, before)
        assert readonly.read_flags(root) == before
        # A server that ran with read_only but not super_read_only gets exactly that back.
        with root.cursor() as cur:
            cur.execute("SET GLOBAL read_only = 1")
        half = readonly.read_flags(root)
        readonly.set_read_only(root, True)
        readonly.restore_flags(root, half)
        assert readonly.read_flags(root) == {"readOnly": True, "superReadOnly": False}
    finally:
        readonly.restore_flags(root, before)
        with root.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")


def test_an_operator_account_that_cannot_end_sessions_is_refused_before_any_revoke(
        root, db_server, tenant) -> None:
    """Without PROCESS and CONNECTION_ADMIN/SUPER the session kill would silently end
    nothing: RevokeWrites refuses up front and changes no grant."""
    user = f"op_{_id()}"
    with root.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'op-pw-1'")
        cur.execute(f"GRANT SELECT ON mysql.* TO '{user}'@'%'")
        cur.execute(f"GRANT ALL ON `{tenant.schema}`.* TO '{user}'@'%' WITH GRANT OPTION")
    before = grants.show_grants(root, account(tenant))
    try:
        with db_server.connect(user=user, password="op-pw-1") as operator:
            with pytest.raises(GrantProblem) as problem:
                grants.plan_revocation(operator, [tenant.schema], [account(tenant)])
        message = str(problem.value)
        assert "PROCESS" in message and "SUPER" in message
        assert "SELECT on mysql" not in message  # that one it has
        assert grants.show_grants(root, account(tenant)) == before
    finally:
        with root.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
