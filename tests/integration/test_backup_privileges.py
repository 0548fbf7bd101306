"""The worker with a least-privilege dump account on real MariaDB: the documented
grants are enough for a complete dump, and a missing one stops the worker before
anything is stored, with a message that names it (mysqldump itself would leave
triggers and routines out without an error)."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyrage
import pytest

from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import (
    EVENTS,
    FUNCTIONS,
    PROCEDURES,
    TRIGGERS,
    VIEWS,
    drop_tenant,
    seed_tenant,
)
from tests.support.backups import (
    decode_object,
    load_sql,
    log_events,
    multipart_uploads,
    object_keys,
    run_worker,
    schema_objects,
    worker_env,
)

# docs/operations.md, "Dump account privileges" (MariaDB / MySQL 5.7).
SCHEMA_GRANT = "SELECT, SHOW VIEW, TRIGGER, EVENT"
# Reading routine definitions: MariaDB and MySQL 5.7 read mysql.proc; MySQL 8
# has no mysql.proc and asks for the global SHOW_ROUTINE privilege (8.0.20+).
ROUTINE_GRANT = {"mariadb": "SELECT ON mysql.proc", "mysql": "SHOW_ROUTINE ON *.*"}
ROUTINE_NAMED = {"mariadb": "SELECT on mysql.proc", "mysql": "SHOW_ROUTINE"}


class DumpAccount:
    def __init__(self, db_server: DatabaseServer) -> None:
        self.db_server = db_server
        self.user = f"dump_{uuid.uuid4().hex[:8]}"
        self.password = secrets.token_urlsafe(18)

    def create(self, schema: str, *, schema_grant: str = SCHEMA_GRANT,
               routines: bool = True) -> None:
        with self.db_server.connect() as conn, conn.cursor() as cur:
            cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (self.user, self.password))
            cur.execute(f"GRANT {schema_grant} ON `{schema}`.* TO %s@'%%'", (self.user,))
            if routines:
                cur.execute(f"GRANT {ROUTINE_GRANT[self.db_server.family]} TO %s@'%%'",
                            (self.user,))

    def drop(self) -> None:
        with self.db_server.connect() as conn, conn.cursor() as cur:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (self.user,))


@pytest.fixture
def account(db_server: DatabaseServer) -> Iterator[DumpAccount]:
    created = DumpAccount(db_server)
    yield created
    created.drop()


@pytest.fixture
def tenant(db_server: DatabaseServer, fresh_schema: str, tmp_path: Path) -> str:
    seed_tenant(db_server, fresh_schema, clients=20, documents_dir=tmp_path / "docs", files=3,
                seed=5)
    return fresh_schema


def _env(db_server: DatabaseServer, s3: S3Server, bucket: str, schema: str, account: DumpAccount,
         identity: pyrage.x25519.Identity, termination: Path) -> dict[str, str]:
    return worker_env(db=db_server, s3=s3, bucket=bucket, exit_name="least-priv",
                      recipients=[str(identity.to_public())], termination_log=termination,
                      databases=[schema], password=account.password,
                      TENANT_EXIT_DB_USER=account.user)


def test_documented_grants_dump_everything(db_server: DatabaseServer, s3_server: S3Server,
                                           tenant: str, fresh_bucket: str,
                                           account: DumpAccount, tmp_path: Path) -> None:
    account.create(tenant)
    identity = pyrage.x25519.Identity.generate()
    termination = tmp_path / "termination-log"
    result = run_worker(_env(db_server, s3_server, fresh_bucket, tenant, account, identity,
                             termination))
    assert result.returncode == 0, result.stderr[-3000:]
    assert any(e["event"] == "privileges-checked" for e in log_events(result.stderr))
    summary = json.loads(termination.read_text())
    assert summary["tables"] > 0 and summary["rows"] > 0

    sql = decode_object(s3_server.client(), fresh_bucket,
                        f"exits/least-priv/attempt-1/database-{tenant}.sql.zst.age", identity)
    restored = f"{tenant}_r"
    try:
        load_sql(db_server, restored, sql)
        objects = schema_objects(db_server, restored)
        # The code objects that a thinner account would lose without an error.
        assert set(TRIGGERS) <= objects["triggers"]
        assert set(FUNCTIONS) | set(PROCEDURES) <= objects["routines"]
        assert set(EVENTS) <= objects["events"]
        assert set(VIEWS) <= objects["views"]
    finally:
        drop_tenant(db_server, restored)


@pytest.mark.parametrize(("grant", "routines", "named"), [
    ("SELECT, SHOW VIEW, EVENT", True, "TRIGGER on `{schema}`.*"),
    (SCHEMA_GRANT, False, "{routine_privilege}"),
    ("SELECT, SHOW VIEW, TRIGGER", True, "EVENT on `{schema}`.*"),
], ids=["no-trigger", "no-routine-access", "no-event"])
def test_missing_privilege_is_named(db_server: DatabaseServer, s3_server: S3Server, tenant: str,
                                    fresh_bucket: str, account: DumpAccount, tmp_path: Path,
                                    grant: str, routines: bool, named: str) -> None:
    account.create(tenant, schema_grant=grant, routines=routines)
    termination = tmp_path / "termination-log"
    result = run_worker(_env(db_server, s3_server, fresh_bucket, tenant, account,
                             pyrage.x25519.Identity.generate(), termination), timeout=120)
    assert result.returncode == 1, result.stderr[-2000:]
    message = json.loads(termination.read_text())
    assert message["code"] == "DumpPrivilegesMissing", message
    error = message["error"]
    assert f"the dump account '{account.user}'@'%' lacks privileges" in error, error
    expected = named.format(schema=tenant, routine_privilege=ROUTINE_NAMED[db_server.family])
    assert expected in error, error
    assert account.password not in error + result.stderr + result.stdout
    s3 = s3_server.client()
    assert object_keys(s3, fresh_bucket) == []  # stopped before anything was stored
    assert multipart_uploads(s3, fresh_bucket) == []


def test_table_level_grants_are_refused(db_server: DatabaseServer, s3_server: S3Server,
                                        tenant: str, fresh_bucket: str, account: DumpAccount,
                                        tmp_path: Path) -> None:
    """Issue 10, scenario 5: schema-level EVENT plus SELECT and TRIGGER on one table.
    information_schema then shows that one table, mysqldump leaves the others out
    and still ends with `-- Dump completed`. Table grants cannot prove that every
    table is visible, so the worker refuses before anything is stored."""
    account.create(tenant, schema_grant="EVENT")
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"GRANT SELECT, TRIGGER ON `{tenant}`.`clients` TO %s@'%%'", (account.user,))
    termination = tmp_path / "termination-log"
    result = run_worker(_env(db_server, s3_server, fresh_bucket, tenant, account,
                             pyrage.x25519.Identity.generate(), termination), timeout=120)
    assert result.returncode == 1, result.stderr[-2000:]
    message = json.loads(termination.read_text())
    assert message["code"] == "DumpPrivilegesMissing", message
    for privilege in ("SELECT", "SHOW VIEW", "TRIGGER"):
        assert f"{privilege} on `{tenant}`.*" in message["error"], message
    s3 = s3_server.client()
    assert object_keys(s3, fresh_bucket) == []
    assert multipart_uploads(s3, fresh_bucket) == []
