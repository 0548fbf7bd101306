"""The fault suite, backup part (issue 10, item 7): the worker killed, the database
stopped and the store answering 500, each in the middle of the stream of a
real exit driven by the operator. Each ends with one consistent backup after
retries: the exit reaches AwaitingReceipt with exactly one manifest, every
object of it verifies, the archive restores to the source's tables and
documents, and the store holds no multipart upload (no orphaned parts).

The faults are placed with the S3 fault proxy (tests/support/s3_proxy.py) in
front of the real S3 server: a request held there stalls the worker at a known
point of its stream. The worker-level failure messages are covered by
test_backup_faults.py; here the subject is the retry to a good backup.

The database-stop case runs on both families (each family's server and dump
client fail in their own way). The worker kill and the store's 500 act on the
upload side of the stream, which is the same code whatever the family, so they
run on MariaDB only.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenant_exit.storage.manifest import read_manifest, verify_backup
from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.families import PrivateServer, only_on, server_type
from tests.localcluster.kubelet import ProcessKubelet
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import drop_tenant
from tests.localcluster.volumes import LocalVolumes
from tests.support.backups import (
    extract_tar,
    file_digests,
    load_sql,
    multipart_uploads,
    object_keys,
    open_object,
    table_fingerprints,
)
from tests.support.full_tenant import FullTenant, provision_tenant
from tests.support.operator_process import OPERATOR_NAMESPACE, OperatorProcess, running_operator
from tests.support.s3_proxy import S3FaultProxy
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.chaos]


@pytest.fixture(scope="module")
def proxy(s3_server: S3Server) -> Iterator[S3FaultProxy]:
    with S3FaultProxy(s3_server.endpoint_url) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane, kubelet: ProcessKubelet,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    # A failed pod fails its Job at once, and the next attempt starts 2 s later:
    # the retry under test is the operator's (a new Job), not the Job controller's.
    env = {"TENANT_EXIT_JOB_BACKOFF_LIMIT": "0", "TENANT_EXIT_BACKUP_RETRY_SECONDS": "2"}
    with running_operator(control_plane, Path(tmp_path_factory.mktemp("faults")), env,
                          forked=True) as process:
        yield process


def _start_exit(plane: ControlPlane, db: DatabaseServer, s3: S3Server, volumes: LocalVolumes,
                proxy: S3FaultProxy) -> FullTenant:
    tenant = provision_tenant(plane, db, s3, volumes, OPERATOR_NAMESPACE, clients=5, files=6)
    body = tenant.body(licence_seconds=None, grace="1h")
    body["spec"]["destination"]["s3"]["endpoint"] = proxy.endpoint_url
    tenant.apply(body)
    return tenant


@pytest.fixture
def tenants(control_plane: ControlPlane, proxy: S3FaultProxy,
            operator: OperatorProcess) -> Iterator[list[FullTenant]]:
    """The test's exits, cancelled afterwards (a test with its own database server
    requests it before this fixture, so the server outlives the cancel)."""
    made: list[FullTenant] = []
    yield made
    proxy.clear()
    for tenant in made:
        control_plane.kubectl("delete", "texit", tenant.exit_name, "--wait=false",
                              check=False)
        wait_for(f"the cancel of {tenant.exit_name}", lambda t=tenant: t.exit() is None,
                 timeout=300)
        control_plane.kubectl("delete", "namespace", tenant.namespace, "--wait=false",
                              check=False)
        drop_tenant(tenant.db, tenant.schema)


@pytest.fixture
def own_db(db_server: DatabaseServer,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateServer]:
    """A private server of `db_server`'s family, which the test stops."""
    with server_type(db_server.family)(workdir=tmp_path_factory.mktemp("stopdb")) as server:
        yield server


def _server_checksum(db: DatabaseServer, schema: str, table: str) -> tuple[int, int]:
    """Rows and an order-free checksum of every row, computed by the server: for a
    table too large to read through the client in a test."""
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*), BIT_XOR(CRC32(CONCAT(id, ':', body))) "
                    f"FROM `{schema}`.`{table}`")
        rows, checksum = cur.fetchone()
        return int(rows), int(checksum or 0)


def assert_one_consistent_backup(tenant: FullTenant, exit: dict[str, Any], attempts: int,
                                 tmp_path: Path, large: tuple[str, ...] = ()) -> None:
    backup = exit["status"]["backup"]
    s3 = tenant.s3.client()
    assert backup["attempts"] == attempts, backup
    manifests = [k for k in object_keys(s3, tenant.bucket) if k.endswith("manifest.json")]
    assert manifests == [backup["manifest"]], manifests
    report = verify_backup(s3, tenant.bucket, backup["manifest"])
    assert report.ok and report.checks, report.summary()
    assert report.manifest_sha256 == backup["manifestSha256"]
    assert multipart_uploads(s3, tenant.bucket) == [], "orphaned multipart parts"

    # Consistent: the archive restores to exactly the source's tables and documents.
    manifest, _ = read_manifest(s3, tenant.bucket, backup["manifest"])
    by_kind = {obj.kind.value: obj.key for obj in manifest.objects}

    def plain(key: str) -> bytes:
        return open_object(s3.get_object(Bucket=tenant.bucket, Key=key)["Body"].read(),
                           tenant.identity)

    restored = f"restored_{uuid.uuid4().hex[:6]}"
    try:
        load_sql(tenant.db, restored, plain(by_kind["database"]))
        source = {t: v for t, v in table_fingerprints(tenant.db, tenant.schema, large).items()
                  if t not in tenant.report.excluded_tables}
        assert table_fingerprints(tenant.db, restored, large) == source
        for table in large:
            assert _server_checksum(tenant.db, restored, table) == \
                _server_checksum(tenant.db, tenant.schema, table)
    finally:
        drop_tenant(tenant.db, restored)
    extract_tar(plain(by_kind["documents"]), tmp_path / "documents")
    assert file_digests(tmp_path / "documents") == tenant.kept_documents()


def _backup_pod(tenant: FullTenant, attempt: int) -> str:
    def pod() -> str | None:
        pods = tenant.core.list_namespaced_pod(
            tenant.namespace, label_selector=f"job-name={tenant.exit_name}-backup-{attempt}")
        return pods.items[0].metadata.name if pods.items else None

    return wait_for(f"the pod of attempt {attempt}", pod, timeout=60)


UPLOAD_SIDE = only_on("mariadb", "the fault is on the upload side, the same for both families")


@UPLOAD_SIDE
def test_worker_killed_mid_stream(tenants: list[FullTenant], control_plane: ControlPlane,
                                  db_server: DatabaseServer, s3_server: S3Server,
                                  local_volumes: LocalVolumes, proxy: S3FaultProxy,
                                  kubelet: ProcessKubelet, tmp_path: Path) -> None:
    """SIGKILL of the worker while its first object is stored but not committed:
    the upload and its parts stay behind; the next attempt aborts them."""
    held = proxy.hold("CompleteMultipartUpload", key_contains="/attempt-1/")
    tenant = _start_exit(control_plane, db_server, s3_server, local_volumes, proxy)
    tenants.append(tenant)
    held.wait_holding(timeout=180)
    pid = kubelet.container_pid(tenant.namespace, _backup_pod(tenant, 1), "backup")
    assert pid is not None, "the worker is not running"
    os.killpg(pid, signal.SIGKILL)
    s3 = s3_server.client()
    [orphan] = s3.list_multipart_uploads(Bucket=tenant.bucket)["Uploads"]
    parts = s3.list_parts(Bucket=tenant.bucket, Key=orphan["Key"], UploadId=orphan["UploadId"])
    assert parts.get("Parts"), "the killed worker left an upload with its parts"
    # The held commit is dropped with its client; let later ones through.
    held.release()

    exit = tenant.wait_for_phase("AwaitingReceipt", 240)
    assert_one_consistent_backup(tenant, exit, attempts=2, tmp_path=tmp_path)


@UPLOAD_SIDE
def test_store_answers_500_mid_stream(tenants: list[FullTenant], control_plane: ControlPlane,
                                      db_server: DatabaseServer, s3_server: S3Server,
                                      local_volumes: LocalVolumes, proxy: S3FaultProxy,
                                      tmp_path: Path) -> None:
    """The store takes the second part and answers 500: the worker cannot know the
    part is stored, sends it again, and the object holds it once."""
    failing = proxy.fail("UploadPart", nth=2, key_contains="/attempt-1/")
    tenant = _start_exit(control_plane, db_server, s3_server, local_volumes, proxy)
    tenants.append(tenant)

    exit = tenant.wait_for_phase("AwaitingReceipt", 240)
    assert failing.fired == 1
    parts = proxy.requests("UploadPart", key_contains=f"/{tenant.exit_name}-")
    failed = [p for p in parts if p.injected]
    assert len(failed) == 1 and failed[0].status == 500
    retried = [p for p in parts if p.key == failed[0].key and p.query == failed[0].query]
    assert [p.status for p in retried] == [500, 200], "the same part, sent again"
    assert_one_consistent_backup(tenant, exit, attempts=1, tmp_path=tmp_path)


def _seed_bulk(db: DatabaseServer, schema: str) -> None:
    """~80 MiB of hex noise (compresses 2:1, so ~40 MiB stored): more than the
    worker's pipes and part buffers hold, so a held part stalls the dump itself."""
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {schema}.bulk (id INT AUTO_INCREMENT PRIMARY KEY, "
                    "body LONGTEXT NOT NULL) ENGINE=InnoDB")
        noise = "CONCAT(" + ", ".join(["HEX(RANDOM_BYTES(1024))"] * 5) + ")"
        cur.execute(f"INSERT INTO {schema}.bulk (body) SELECT {noise}")
        for _ in range(13):
            cur.execute(f"INSERT INTO {schema}.bulk (body) SELECT {noise} FROM {schema}.bulk")
        conn.commit()


def _dump_running(db: DatabaseServer) -> bool:
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> "
                    "CONNECTION_ID() AND INFO LIKE %s", ("%FROM `bulk`%",))
        row = cur.fetchone()
        return bool(row and row[0])


@pytest.mark.timeout(1200)  # ~80 MiB dumped twice and restored; slow on a loaded machine
def test_database_stopped_mid_dump(own_db: PrivateServer, tenants: list[FullTenant],
                                   control_plane: ControlPlane, s3_server: S3Server,
                                   local_volumes: LocalVolumes, proxy: S3FaultProxy,
                                   tmp_path: Path) -> None:
    """The database server stops while mysqldump streams a table, and comes back:
    attempt 1 fails and leaves nothing; attempt 2 makes the backup."""
    held = proxy.hold("UploadPart", count=1000, key_contains="/attempt-1/database-")
    tenant = provision_tenant(control_plane, own_db, s3_server, local_volumes,
                              OPERATOR_NAMESPACE, clients=5, files=6)
    tenants.append(tenant)
    _seed_bulk(own_db, tenant.schema)
    body = tenant.body(licence_seconds=None, grace="1h")
    body["spec"]["destination"]["s3"]["endpoint"] = proxy.endpoint_url
    tenant.apply(body)

    held.wait_holding(timeout=180)
    wait_for("mysqldump streaming the bulk table", lambda: _dump_running(own_db),
             timeout=60)
    own_db.stop()
    own_db.start()
    held.release()

    exit = tenant.wait_for_phase("AwaitingReceipt", 300)
    failures = [e["message"] for e in tenant.events() if e["reason"] == "BackupJobFailed"]
    assert failures and "mysqldump" in failures[0], failures
    assert_one_consistent_backup(tenant, exit, attempts=2, tmp_path=tmp_path, large=("bulk",))

