"""The operator as a process runs a TenantExtraction on schedule through Jobs on
the real control plane and process kubelet, against real MariaDB/MySQL and S3; a bad
model is refused with messages naming table and column.

Runs on both database families (`db_server`: MariaDB and Oracle MySQL).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenant_exit.api.datamodel import DataModelSpec
from tenant_exit.extraction.validate import validate_in_read_only_transaction
from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import SeedReport, seed_tenant
from tests.support.extraction import (
    SAMPLE_MODEL,
    all_objects,
    apply,
    completed_runs,
    get_json,
    install_extraction_crds,
    key_of,
    provision_extraction,
    read_manifest,
    read_parquet,
    sample_model,
)
from tests.support.operator_process import OPERATOR_NAMESPACE, OperatorProcess, running_operator
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def extraction_operator(control_plane: ControlPlane, kubelet: object,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    install_extraction_crds(control_plane)
    with running_operator(control_plane, Path(tmp_path_factory.mktemp("operator"))) as process:
        yield process


def test_a_tenant_extraction_runs_on_schedule_survives_drift_and_ends_with_its_namespace(
        extraction_operator: OperatorProcess, control_plane: ControlPlane,
        db_server: DatabaseServer, s3_server: S3Server, fresh_schema: str,
        fresh_bucket: str) -> None:
    seeded_tenant = seed_tenant(db_server, fresh_schema, clients=40, documents_dir=None, files=0,
                                seed=5)
    name, namespace, body = provision_extraction(
        control_plane, db_server, s3_server, schema=fresh_schema, bucket=fresh_bucket,
        operator_namespace=OPERATOR_NAMESPACE)
    key = key_of(control_plane, OPERATOR_NAMESPACE, name)
    wait_for("DataModel validated", lambda: (get_json(control_plane, "datamodel",
             "care-reporting") or {}).get("status", {}).get("validation", {}).get("result")
             == "Valid", 60)
    apply(control_plane, body)
    # Three schedule ticks, each a minute: a run, a run stopped by drift, a run after
    # the drift is mended. The two good runs prove the schedule repeats.
    runs: dict[str, dict[str, Any]] = {}
    wait_for("a scheduled run completes",
             lambda: completed_runs(control_plane, name, runs, count=1), timeout=140, interval=2)
    events = control_plane.kubectl("get", "events", "-n", "default", "-o", "json",
                                   f"--field-selector=involvedObject.name={name}").stdout
    assert "RunStarted" in events and "RunSucceeded" in events

    # Schema drift: a dropped source column fails the next run before it writes.
    with db_server.connect(fresh_schema) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE care_plans DROP COLUMN status")
    before = set(all_objects(s3_server, fresh_bucket))

    def drift() -> dict[str, Any] | None:
        status = (get_json(control_plane, "textract", name) or {}).get("status", {})
        found = {c["type"]: c for c in status.get("conditions", [])}.get("SchemaDrift", {})
        return found if found.get("status") == "True" else None

    drifted = wait_for("SchemaDrift", drift, timeout=150, interval=2)
    assert "table care_allocations, column status" in drifted["message"]
    assert "care_plans.status" in drifted["message"]
    written = set(all_objects(s3_server, fresh_bucket)) - before
    assert not [k for k in written if "/runs/" in k or "/latest/" in k], written
    assert "SchemaDrift" in control_plane.kubectl(
        "get", "events", "-n", "default", "-o", "json",
        f"--field-selector=involvedObject.name={name}").stdout

    # Restoring the column lets the next run succeed: the second good run.
    with db_server.connect(fresh_schema) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE care_plans ADD COLUMN status "
                    "ENUM('concept','actief','afgesloten') NOT NULL DEFAULT 'actief'")
    wait_for("a run after the drift succeeds", lambda: drift() is None and completed_runs(
        control_plane, name, runs), timeout=150, interval=2)
    status = get_json(control_plane, "textract", name)["status"]  # type: ignore[index]
    assert status["validation"]["result"] == "Valid"
    assert status["modelVersion"] == "1.0.0" and status["state"] == "Active"
    ready = {c["type"]: c for c in status["conditions"]}
    assert ready["Ready"]["status"] == "True" and ready["SchemaDrift"]["status"] == "False"
    assert status["lastRun"]["result"] == "Succeeded"
    assert key not in str(status) and db_server.root_password not in str(status)

    expected = {t: seeded_tenant.rows[t] for t in ("clients", "invoices")}
    assert len(runs) == 2, runs.keys()
    for run in runs.values():
        assert run["result"] == "Succeeded"
        rows = {t["name"]: t["rows"] for t in run["tables"]}
        assert {t: rows[t] for t in expected} == expected
        manifest_key = run["location"].removeprefix(f"s3://{fresh_bucket}/")
        manifest = read_manifest(s3_server, fresh_bucket, manifest_key)
        entry = next(f for f in manifest["files"] if f.get("table") == "clients")
        table = read_parquet(s3_server, fresh_bucket, entry["key"])
        assert table.num_rows == seeded_tenant.rows["clients"]
        assert "bsn" not in table.column_names

    control_plane.kubectl("delete", "namespace", namespace, "--wait=true", timeout=120)
    wait_for("extraction Ended", lambda: (get_json(control_plane, "textract", name) or {})
             .get("status", {}).get("state") == "Ended", 60)
    # The finalizer goes once the operator has handled the delete: slow on a busy machine.
    control_plane.kubectl("delete", "textract", name, "--wait=true", "--timeout=140s",
                          timeout=150)
    for secret in (f"{name}-s3", f"{name}-key"):
        control_plane.kubectl("delete", "secret", secret, "-n", OPERATOR_NAMESPACE, check=False)


def test_a_model_that_is_not_a_select_is_refused_in_its_status(
        extraction_operator: OperatorProcess, control_plane: ControlPlane) -> None:
    body = yaml.safe_load(SAMPLE_MODEL.read_text())
    body["metadata"]["name"] = f"bad-{uuid.uuid4().hex[:6]}"
    body["spec"]["tables"][0]["query"] = "DELETE FROM clients"
    apply(control_plane, body)

    def refused() -> list[str] | None:
        validation = (get_json(control_plane, "datamodel", body["metadata"]["name"]) or {}
                      ).get("status", {}).get("validation", {})
        return validation.get("messages") if validation.get("result") == "Invalid" else None

    messages = wait_for("DataModel refused", refused, 60)
    assert any(m.startswith("table clients: query is a DELETE statement") for m in messages)
    control_plane.kubectl("delete", "datamodel", body["metadata"]["name"])


def _spec_with(table: str, column: str, **changes: Any) -> DataModelSpec:
    body = sample_model().spec.model_dump(by_alias=True, exclude_none=True)
    for t in body["tables"]:
        if t["name"] == table:
            for key, value in changes.items():
                if key == "query":
                    t["query"] = value
                else:
                    next(c for c in t["columns"] if c["name"] == column)[key] = value
    return DataModelSpec.model_validate(body)


@pytest.mark.parametrize(("table", "column", "changes", "expected"), [
    ("invoices", "vatRate", {"query": (
        "SELECT i.id AS invoiceObjectId, i.client_id AS clientObjectId, i.period_start AS "
        "periodStart, i.period_end AS periodEnd, i.amount_excl_vat AS amountExclVat, "
        "i.vat_percentage AS vatRate, i.status AS status FROM invoices i")},
     "table invoices, column vatRate: source column invoices.vat_percentage does not exist"),
    ("invoices", "amountExclVat", {"type": "integer"},
     "table invoices, column amountExclVat: contract type integer does not fit the result "
     "type DECIMAL(12,2)"),
    ("invoices", "amountExclVat", {"type": "decimal(10,2)"},
     "table invoices, column amountExclVat: contract type decimal(10,2) cannot hold "
     "DECIMAL(12,2) exactly"),
    ("care_deliveries", "startsAt", {"type": "date"},
     "table care_deliveries, column startsAt: contract type date does not fit the result type "
     "DATETIME"),
])
def test_a_bad_model_is_refused_against_the_live_server_naming_table_and_column(
        db_server: DatabaseServer, seeded_tenant: SeedReport, table: str, column: str,
        changes: dict[str, Any], expected: str) -> None:
    with db_server.connect() as conn:
        live = validate_in_read_only_transaction(conn, _spec_with(table, column, **changes),
                                                 seeded_tenant.schema)
    assert any(p.startswith(expected) for p in live.report.problems), live.report.problems


def test_the_sample_model_is_valid_against_the_live_server(
        db_server: DatabaseServer, seeded_tenant: SeedReport) -> None:
    with db_server.connect() as conn:
        live = validate_in_read_only_transaction(conn, sample_model().spec, seeded_tenant.schema)
    assert live.report.problems == []
    assert ("clients", "bsn") in live.referenced["clients"]


def test_the_api_server_refuses_a_contract_that_cannot_be_written(
        extraction_operator: OperatorProcess, control_plane: ControlPlane) -> None:
    body = yaml.safe_load(SAMPLE_MODEL.read_text())
    body["metadata"]["name"] = f"cel-{uuid.uuid4().hex[:6]}"
    body["spec"]["tables"][0]["columns"][0]["type"] = "integer"  # a pseudonym is a string
    refused = control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(body), check=False)
    assert refused.returncode != 0
    assert "a pseudonymised column is written as a string pseudonym" in refused.stderr
