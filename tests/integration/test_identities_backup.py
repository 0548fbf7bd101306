"""Issue 10, scenario 1, the worker's side: a backup is adopted only by the TenantExit
that wrote it (UID, not name) and only for the same terms. Real MariaDB and S3.

On MariaDB and on MySQL (the harness's family-parametrized server).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyrage
import pytest

from tenant_exit.storage.manifest import Manifest
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import seed_tenant
from tests.support.backups import log_events, run_worker, worker_env

FIRST_UID = "1111aaaa-0000-4000-8000-000000000001"
SECOND_UID = "2222bbbb-0000-4000-8000-000000000002"


def _backup(env: dict[str, str], termination: Path) -> tuple[dict, list[dict]]:
    result = run_worker({**env, "TENANT_EXIT_TERMINATION_LOG": str(termination)})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(termination.read_text()), log_events(result.stderr)


def _manifest(s3: S3Server, bucket: str, key: str) -> Manifest:
    return Manifest.from_bytes(s3.client().get_object(Bucket=bucket, Key=key)["Body"].read())


def _columns(cur: object, table: str) -> list[str]:
    cur.execute(f"SHOW COLUMNS FROM `{table}`")  # type: ignore[attr-defined]
    return [row[0] for row in cur.fetchall()]  # type: ignore[attr-defined]


def _rows(manifest: Manifest, table: str) -> int:
    assert manifest.database is not None
    return next(t.rows for s in manifest.database.schemas for t in s.tables if t.name == table)


@pytest.mark.parametrize("change", ["exit-recreated", "recipients-changed"])
def test_a_manifest_of_another_exit_or_other_terms_is_never_adopted(
        db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str, fresh_bucket: str,
        tmp_path: Path, change: str) -> None:
    report = seed_tenant(db_server, fresh_schema, clients=5, documents_dir=None, files=0)
    recipient = str(pyrage.x25519.Identity.generate().to_public())
    env = worker_env(db=db_server, s3=s3_server, bucket=fresh_bucket, exit_name="zorg",
                     recipients=[recipient], termination_log=tmp_path / "unused",
                     databases=[fresh_schema], TENANT_EXIT_EXIT_UID=FIRST_UID)
    first, _ = _backup(env, tmp_path / "first")
    assert first["manifestKey"].startswith(f"exits/zorg-{FIRST_UID[:8]}/attempt-1/")
    assert _manifest(s3_server, fresh_bucket, first["manifestKey"]).exit_uid == FIRST_UID

    # Written after the first backup: only a fresh backup holds it.
    conn = db_server.connect(database=fresh_schema)
    with conn.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE one_more AS SELECT * FROM clients LIMIT 1")
        cur.execute("ALTER TABLE one_more DROP COLUMN full_name")
        cur.execute("UPDATE one_more SET id = 999001, bsn = '999999990'")
        columns = ", ".join(f"`{c}`" for c in _columns(cur, "one_more"))
        cur.execute(f"INSERT INTO clients ({columns}) SELECT {columns} FROM one_more")
    conn.commit()
    conn.close()

    if change == "exit-recreated":  # cancelled, then re-created under the same name
        again = {**env, "TENANT_EXIT_EXIT_UID": SECOND_UID}
    else:
        other = str(pyrage.x25519.Identity.generate().to_public())
        again = {**env, "TENANT_EXIT_AGE_RECIPIENTS": json.dumps([other])}
    second, events = _backup(again, tmp_path / "second")

    assert not any(e["event"] == "existing-manifest-verified" for e in events), events
    assert any(e["event"] == "object-start" for e in events), "nothing was dumped again"
    manifest = _manifest(s3_server, fresh_bucket, second["manifestKey"])
    assert _rows(manifest, "clients") == report.rows["clients"] + 1
    if change == "exit-recreated":
        assert second["manifestKey"].startswith(f"exits/zorg-{SECOND_UID[:8]}/attempt-1/")
        assert manifest.exit_uid == SECOND_UID
    else:
        assert manifest.encryption.recipients != [recipient]
