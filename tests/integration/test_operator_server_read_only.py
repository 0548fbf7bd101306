"""`readOnly.database: ServerReadOnly` through the operator process: applying the
exit sets the server's global read_only (on either family), so the application
account can read but not write; cancelling the exit puts the flag back to what
it was.

The flag is server-wide, so this test gives the tenant a server of its own
(of `db_server`'s family) instead of the session one: other tests never see a
read-only server, even if this one fails half-way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pymysql
import pytest

from tenant_exit.mysql import readonly
from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.families import server_type
from tests.localcluster.volumes import LocalVolumes
from tests.support.exit_tenant import ExitTenant, in_seconds, prepare_tenant, remove_tenant
from tests.support.operator_process import OperatorProcess

pytestmark = pytest.mark.cluster

# ER_OPTION_PREVENTS_STATEMENT: "The ... server is running with the --read-only option".
READ_ONLY_ERROR = 1290


@pytest.fixture
def own_db_tenant(
    exit_operator: OperatorProcess,
    control_plane: ControlPlane,
    db_server: DatabaseServer,
    local_volumes: LocalVolumes,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ExitTenant]:
    """`exit_tenant`, but on a server of its own of `db_server`'s family (short
    workdir: socket path)."""

    def provision(namespace: str, claim: str, policy: str) -> str:
        return local_volumes.provision(namespace, claim, "16Mi", policy).pv_name

    with server_type(db_server.family)(workdir=tmp_path_factory.mktemp("srodb")) as db:
        tenant = prepare_tenant(control_plane, db, provision)
        try:
            yield tenant
        finally:
            if not exit_operator.healthy_or_none():
                exit_operator.start()
            remove_tenant(tenant)


def server_read_only(db: DatabaseServer) -> bool:
    with db.connect() as conn:
        return readonly.read_only(conn)


def test_server_read_only_is_enforced_and_reverted_on_cancel(
    own_db_tenant: ExitTenant, exit_operator: OperatorProcess
) -> None:
    tenant, db = own_db_tenant, own_db_tenant.db
    prior = server_read_only(db)
    assert prior is False  # a fresh server: the exit must be what turns it on
    grants_before = tenant.show_grants()

    tenant.apply_exit(tenant.spec(until=in_seconds(3600), database="ServerReadOnly"))
    tenant.wait_for_phase("ReadOnlyLicensed", timeout=40)
    tenant.plane.kubectl(
        "wait", f"texit/{tenant.exit_name}", "--for=condition=ReadOnlyEnforced", "--timeout=20s"
    )

    assert server_read_only(db) is True
    conn = tenant.app_connection()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM clients")
            assert cur.fetchone()[0] == tenant.report.rows["clients"]
        for write in ("INSERT INTO clients (id) VALUES (999996)",
                      "UPDATE clients SET first_name = 'Herstel' ORDER BY id LIMIT 1"):
            with pytest.raises(pymysql.err.MySQLError) as refused, conn.cursor() as cur:
                cur.execute(write)
            assert refused.value.args[0] == READ_ONLY_ERROR, refused.value
            assert "read-only" in str(refused.value.args[1])
    finally:
        conn.close()
    # ServerReadOnly leaves the accounts' grants alone.
    assert tenant.show_grants() == grants_before
    exposed = json.dumps(tenant.exit()) + json.dumps(tenant.events()) + exit_operator.logs()
    for secret in tenant.secrets:
        assert secret not in exposed

    tenant.delete_exit(timeout=90)

    assert server_read_only(db) is prior
    conn = tenant.app_connection()
    try:
        with conn.cursor() as cur:
            assert cur.execute("UPDATE clients SET first_name = 'Herstel' ORDER BY id LIMIT 1") == 1
        conn.commit()
    finally:
        conn.close()
