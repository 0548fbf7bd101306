"""Least privilege: the chart's ClusterRole grants exactly what the operator's code
uses — no wildcard, no verb the code never calls, nothing the code calls missing.

"What the code uses" is derived from the source (tests/support/api_usage.py):
every `kubernetes` client method the operator references is resolved to its HTTP
verb and path through the client's own generated code, plus kopf's calls for the
resources handlers.py registers. A new API call in the operator therefore fails
this test until the chart grants it, and a grant nobody uses fails it too.
"""

from __future__ import annotations

import ast
from typing import Any

import pytest

from tests.support import api_usage
from tests.support.api_usage import Permission, granted, operator_needs
from tests.support.helm import one, render


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    return list(one(render(), "ClusterRole")["rules"])


def test_cluster_role_has_no_wildcard(rules: list[dict[str, Any]]) -> None:
    for rule in rules:
        for key in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[key], rule
        assert "nonResourceURLs" not in rule


def test_every_call_the_operator_makes_is_granted(rules: list[dict[str, Any]]) -> None:
    needs = operator_needs()
    missing = {str(p): sites for p, sites in needs.items() if p not in granted(rules)}
    assert not missing, f"the ClusterRole lacks what the code calls: {missing}"


def test_nothing_is_granted_that_the_code_never_uses(rules: list[dict[str, Any]]) -> None:
    unused = sorted(str(p) for p in granted(rules) - set(operator_needs()))
    assert not unused, f"the ClusterRole grants what no code uses: {unused}"


def test_the_scan_sees_the_operators_calls() -> None:
    """Guards against a scan that silently finds nothing (and so passes nothing)."""
    needs = operator_needs()
    assert Permission("", "namespaces", "patch") in needs  # guards.py
    assert Permission("batch", "jobs", "create") in needs  # the backup Job
    assert Permission("tenantexit.io", "tenantexits/status", "patch") in needs
    assert not api_usage.ambiguous(api_usage.client_calls(api_usage.OPERATOR_SOURCES))


@pytest.mark.parametrize(
    "bad_rule",
    [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]},
        {"apiGroups": ["*"], "resources": ["jobs"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["*"], "verbs": ["get"]},
    ],
)
def test_a_wildcard_is_refused(bad_rule: dict[str, Any], rules: list[dict[str, Any]]) -> None:
    with pytest.raises(ValueError, match="wildcard"):
        granted([*rules, bad_rule])


def test_an_unused_verb_is_detected(rules: list[dict[str, Any]]) -> None:
    widened = [*rules, {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}]
    assert granted(widened) - set(operator_needs()) == {Permission("", "nodes", "list")}


def test_the_backup_job_needs_no_kubernetes_api() -> None:
    """Hence no Role/RoleBinding for the Job: the worker talks to MySQL and S3 only
    and reports through its termination message."""
    assert api_usage.WORKER_SOURCES, "worker sources not found"
    assert api_usage.client_calls(api_usage.WORKER_SOURCES) == {}
    for path in api_usage.WORKER_SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                    node.module or ""
                ]
                assert not any(m.split(".")[0] in ("kubernetes", "kopf") for m in modules), path
    assert not [d for d in render() if d["kind"] in ("Role", "RoleBinding")]
