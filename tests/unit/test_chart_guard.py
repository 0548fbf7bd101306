"""The chart's namespace guard is the operator's own admission policy with the
release's ServiceAccount as the one identity let through, and survives uninstall."""

from __future__ import annotations

from typing import Any

from tenant_exit.api.admission import guard_policies
from tests.support import chart_guard
from tests.support.helm import render


def _without_metadata(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "metadata"}


def test_the_checked_in_template_is_fresh() -> None:
    assert chart_guard.TEMPLATE.read_text() == chart_guard.render_template(), (
        "templates/namespace-guard.yaml is stale: run `python -m tests.support.chart_guard`"
    )


def test_rendered_guard_is_the_operators_policy_for_the_release_identity() -> None:
    docs = render(release="exits", namespace="ops")
    expected = guard_policies("system:serviceaccount:ops:exits-tenant-exit-operator")
    rendered = {(d["kind"], d["metadata"]["name"]): _without_metadata(d) for d in docs
                if d["kind"].startswith("ValidatingAdmissionPolicy")}
    assert rendered == {(d["kind"], d["metadata"]["name"]): _without_metadata(d)
                        for d in expected}


def test_guard_is_kept_when_the_chart_is_uninstalled() -> None:
    docs = render()
    guards = [d for d in docs if d["kind"].startswith("ValidatingAdmissionPolicy")]
    assert len(guards) == 4
    for doc in guards:
        assert doc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_guard_can_be_disabled() -> None:
    docs = render({"namespaceGuard": {"enabled": False}})
    assert not [d for d in docs if d["kind"].startswith("ValidatingAdmissionPolicy")]
