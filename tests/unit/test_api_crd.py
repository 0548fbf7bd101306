"""The CRD is generated from the pydantic models; the checked-in files must match."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from tenant_exit.api.admission import render_guard_policy_yaml
from tenant_exit.api.class_admission import render_class_policy_yaml
from tenant_exit.api.crd import RESOURCES, CrdSource, build_crd, rendered_files
from tenant_exit.api.resource import TenantExit
from tests.support.exits import body, example_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("source", RESOURCES, ids=lambda source: source.file_name)
def test_checked_in_crd_is_not_stale(source: CrdSource) -> None:
    checked_in = (ROOT / "crds" / source.file_name).read_text()
    assert checked_in == rendered_files()[source.file_name], (
        "run `make crd` to regenerate crds/"
    )


def test_every_generated_crd_file_is_checked_in_and_none_is_left_over() -> None:
    generated = {f"{source.plural}.{source.group}" for source in RESOURCES}
    documents = [doc for path in (ROOT / "crds").glob("*.yaml")
                 for doc in yaml.safe_load_all(path.read_text())]
    checked_in = {doc["metadata"]["name"] for doc in documents
                  if doc["kind"] == "CustomResourceDefinition"}
    assert checked_in == generated
    assert {path.name for path in (ROOT / "crds").glob("*_*.yaml")} == set(rendered_files())


def test_checked_in_guard_policy_is_not_stale() -> None:
    checked_in = (ROOT / "crds" / "namespace-guard-policy.yaml").read_text()
    assert checked_in == render_guard_policy_yaml(), (
        "run `tenant-exit crd --guard-policy > crds/namespace-guard-policy.yaml`"
    )


def test_checked_in_class_policy_is_not_stale() -> None:
    checked_in = (ROOT / "crds" / "class-limits-policy.yaml").read_text()
    assert checked_in == render_class_policy_yaml(), (
        "run `tenant-exit crd --class-policy > crds/class-limits-policy.yaml`"
    )


def _walk(node: Any, path: str = ""):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.get("properties", {}).items():
            yield from _walk(value, f"{path}.{key}")
        if "items" in node:
            yield from _walk(node["items"], f"{path}[]")


def test_the_schema_is_structural() -> None:
    schema = build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in _walk(schema):
        assert "type" in node, f"{path} has no type"
        for forbidden in ("$ref", "anyOf", "additionalProperties", "title"):
            assert forbidden not in node, f"{path} has {forbidden}"


def test_every_spec_field_is_described_for_kubectl_explain() -> None:
    spec = build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    undescribed = [path for path, node in _walk(spec, "spec") if not node.get("description")]
    undescribed = [p for p in undescribed if not p.endswith("[]")]
    assert undescribed == []


def test_the_crd_is_cluster_scoped_with_status_and_printer_columns() -> None:
    spec = build_crd()["spec"]
    version = spec["versions"][0]
    assert spec["scope"] == "Cluster"
    assert spec["names"]["shortNames"] == ["texit"]
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == ["Tenant", "Phase", "Backup size", "Receipt", "Age"]


def test_the_example_manifest_is_a_valid_exit() -> None:
    manifest = yaml.safe_load((ROOT / "examples" / "tenantexit.yaml").read_text())
    exit = TenantExit.from_body(manifest)
    assert exit.spec.tenant_namespace == "tenant-zorggroep-noord"
    assert exit.spec.deletion.grace_period == "72h"


def test_defaults_fill_what_the_manifest_leaves_out() -> None:
    spec = example_spec()
    del spec["database"]["port"]
    del spec["readOnly"]["database"]
    del spec["deletion"]
    exit = TenantExit.from_body(body(spec=spec))
    assert exit.spec.database.port == 3306
    assert exit.spec.read_only is not None
    assert exit.spec.read_only.database.value == "RevokeWrites"
    assert exit.spec.deletion.grace_period == "72h"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("database", "port"), "three"),
        (("receipt",), {"confirmedBy": "x", "manifestSha256": "ABC"}),
        (("deletion", "gracePeriod"), "3 days"),
        (("readOnly", "database"), "ReadMostly"),
        (("surprise",), True),
    ],
)
def test_the_model_refuses_what_the_crd_refuses(path: tuple[str, ...], value: Any) -> None:
    spec = example_spec()
    target = spec
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError):
        TenantExit.from_body(body(spec=spec))


def test_unknown_status_fields_do_not_make_an_exit_unreadable() -> None:
    exit = TenantExit.from_body(body(status={"phase": "BackupRunning", "kopf": {"x": 1}}))
    assert exit.status.phase is not None and exit.status.phase.value == "BackupRunning"
