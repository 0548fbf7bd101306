"""Object keys of a backup attempt, the database plan and the termination summary."""

from __future__ import annotations

import json

from tenant_exit.api.worker_errors import WorkerErrorCode
from tenant_exit.mysql.inventory import Inventory, TableInfo
from tenant_exit.worker.layout import database_key, dictionary_key, documents_key
from tenant_exit.worker.plan import plan_database
from tenant_exit.worker.summary import MAX_MESSAGE_BYTES, Summary, failure_json

PREFIX = "exits/zorg/attempt-1/"


def test_keys() -> None:
    assert database_key(PREFIX, "ons") == PREFIX + "database-ons.sql.zst.age"
    assert documents_key(PREFIX, "client-documents") == (
        PREFIX + "documents-client-documents.tar.zst.age")
    assert dictionary_key(PREFIX, "md") == PREFIX + "data-dictionary.md.zst.age"
    assert database_key(PREFIX, "zorg/ü x") == PREFIX + "database-zorg%2F%C3%BC%20x.sql.zst.age"


def _table(schema: str, name: str, type_: str = "BASE TABLE") -> TableInfo:
    return TableInfo(schema, name, type_, "InnoDB", 0, 0, 0)


def test_plan_splits_included_and_excluded() -> None:
    inventory = Inventory("10.11", ["ons"], [
        _table("ons", "audit_log"), _table("ons", "clients"),
        _table("ons", "v_open_invoices", "VIEW"), _table("ons", "import_rows"),
    ], {})
    [plan] = plan_database(inventory, ["*.audit_*", "*.import_*"])
    assert [t.name for t in plan.included] == ["clients", "v_open_invoices"]
    assert [t.name for t in plan.data_tables] == ["clients"]
    assert plan.ignore_tables == ["audit_log", "import_rows"]
    assert [p for _, p in plan.excluded] == ["*.audit_*", "*.import_*"]


def test_summary_is_camel_case_json() -> None:
    line = Summary("k/manifest.json", "ab" * 32, 3, 100, 2048, 7, 4096).to_json()
    assert "\n" not in line
    assert json.loads(line) == {"manifestKey": "k/manifest.json", "manifestSha256": "ab" * 32,
                                "tables": 3, "rows": 100, "databaseBytes": 2048, "files": 7,
                                "documentBytes": 4096}


def test_failure_message_fits_the_termination_message() -> None:
    assert json.loads(failure_json(WorkerErrorCode.UNEXPECTED, "boom")) == {
        "code": "Unexpected", "error": "boom"}
    long = failure_json(WorkerErrorCode.PIPELINE_FAILED, "x" * 10_000)
    assert len(long.encode()) <= MAX_MESSAGE_BYTES
    assert json.loads(long)["code"] == "PipelineFailed"
