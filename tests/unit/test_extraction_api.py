"""DataModel / TenantExtraction: generated CRDs, the sample model, pure checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tenant_exit.api.crd import rendered_files
from tenant_exit.api.datamodel import DataModel, DataModelSpec, content_hash
from tenant_exit.extraction.pseudonym import Pseudonymiser, PseudonymKeyError, postcode_area
from tenant_exit.extraction.retention import folders_to_remove
from tenant_exit.extraction.validate import check_syntax

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "datamodel-care.yaml"


def sample() -> DataModel:
    return DataModel.from_body(yaml.safe_load(SAMPLE.read_text()))


EXTRACTION_CRDS = ("tenantexit.io_datamodels.yaml", "tenantexit.io_tenantextractions.yaml")


@pytest.mark.parametrize("name", EXTRACTION_CRDS)
def test_checked_in_extraction_crds_are_not_stale(name: str) -> None:
    assert (ROOT / "crds" / name).read_text() == rendered_files()[name], (
        "run `make crd` to regenerate crds/")


def test_every_field_has_kubectl_explain_text() -> None:
    def walk(node: dict, path: str):  # type: ignore[type-arg]
        yield path, node
        for key, value in node.get("properties", {}).items():
            yield from walk(value, f"{path}.{key}")
        if "items" in node:
            yield from walk(node["items"], f"{path}[]")

    for text in (rendered_files()[name] for name in EXTRACTION_CRDS):
        crd = yaml.safe_load(text)
        spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        missing = [p for p, n in walk(spec, "spec") if not n.get("description")
                   and not p.endswith("[]")]
        assert missing == [], crd["metadata"]["name"]


def test_the_sample_model_passes_the_syntax_check() -> None:
    model = sample()
    assert check_syntax(model.spec).problems == []
    assert {t.name for t in model.spec.tables} >= {"clients", "care_allocations",
                                                   "location_assignments"}


def _with_query(table: str, query: str) -> DataModelSpec:
    body = sample().spec.model_dump(by_alias=True)
    for t in body["tables"]:
        if t["name"] == table:
            t["query"] = query
    return DataModelSpec.model_validate(body)


@pytest.mark.parametrize(("query", "expected"), [
    ("DELETE FROM clients", "DELETE statement, not a SELECT"),
    ("SELECT 1; SELECT 2", "2 statements"),
    ("SELECT id FROM invoices FOR UPDATE", "takes locks"),
    ("UPDATE invoices SET status = 'betaald'", "not a SELECT"),
])
def test_anything_but_one_select_is_refused_naming_the_table(query: str, expected: str) -> None:
    problems = check_syntax(_with_query("invoices", query)).problems
    assert any(p.startswith("table invoices: ") and expected in p for p in problems), problems


def test_a_result_column_missing_from_the_query_is_named() -> None:
    query = ("SELECT i.id AS invoiceObjectId, i.client_id AS clientObjectId, "
             "i.period_start AS periodStart, i.period_end AS periodEnd, "
             "i.amount_excl_vat AS amountExclVat, i.status AS status FROM invoices i")
    problems = check_syntax(_with_query("invoices", query)).problems
    assert ("table invoices, column vatRate: declared in the contract but not in the query's "
            "result") in problems


def test_the_content_hash_follows_the_content() -> None:
    spec = sample().spec
    changed = _with_query("invoices", "SELECT 1 AS invoiceObjectId")
    assert content_hash(spec) == content_hash(sample().spec)
    assert content_hash(spec) != content_hash(changed)


def test_pseudonyms_are_keyed_versioned_and_joinable_within_a_domain() -> None:
    key = b"k" * 32
    one = Pseudonymiser(key, 1)
    assert one.pseudonym("client", 42) == one.pseudonym("client", "42")
    assert one.pseudonym("client", 42) != one.pseudonym("employee", 42)
    assert one.pseudonym("client", 42) != Pseudonymiser(b"x" * 32, 1).pseudonym("client", 42)
    two = Pseudonymiser(key, 2).pseudonym("client", 42)
    assert two is not None and two.startswith("k2_")
    assert one.pseudonym("client", None) is None
    with pytest.raises(PseudonymKeyError) as refused:
        Pseudonymiser(b"short-key-material", 1)
    assert "short-key-material" not in str(refused.value)


@pytest.mark.parametrize(("value", "area"), [("8911 AB", "8911"), ("8911AB", "8911"),
                                            ("0911 AB", None), ("Kerkstraat 1", None)])
def test_postcode_area(value: str, area: str | None) -> None:
    assert postcode_area(value) == area


@pytest.mark.parametrize(("folders", "keep", "removed"), [
    ({"a": True, "b": True, "c": True}, 2, ["a"]),
    ({"a": True, "b": False, "c": True}, 5, ["b"]),
    ({"a": True, "b": False}, 1, []),  # nothing newer than the failed run is complete
    ({"a": False, "b": False}, 1, []),
    ({"a": True, "b": True, "c": False}, 1, ["a"]),
])
def test_retention_removes_only_behind_a_newer_complete_run(
        folders: dict[str, bool], keep: int, removed: list[str]) -> None:
    assert folders_to_remove(folders, keep) == removed
