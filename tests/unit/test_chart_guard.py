"""The chart's namespace guard is the operator's own admission policy with the
release's ServiceAccount as the one identity let through, and survives uninstall."""

from __future__ import annotations

from typing import Any

from tenant_exit.api.admission import EXIT_POLICY_NAME, POLICY_NAME, guard_policies
from tenant_exit.api.class_admission import POLICY_NAME as CLASS_POLICY
from tenant_exit.api.class_admission import class_limits_policy
from tests.support import chart_guard
from tests.support.helm import render

GUARDS = {POLICY_NAME, EXIT_POLICY_NAME}


def _without_metadata(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "metadata"}


def _policies(docs: list[dict[str, Any]], names: set[str]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"].startswith("ValidatingAdmissionPolicy")
            and d["metadata"]["name"] in names]


def test_the_checked_in_template_is_fresh() -> None:
    assert chart_guard.TEMPLATE.read_text() == chart_guard.render_template(), (
        "templates/namespace-guard.yaml is stale: run `python -m tests.support.chart_guard`"
    )


def test_rendered_guard_is_the_operators_policy_for_the_release_identity() -> None:
    docs = render(release="exits", namespace="ops")
    expected = guard_policies("system:serviceaccount:ops:exits-tenant-exit-operator")
    rendered = {(d["kind"], d["metadata"]["name"]): _without_metadata(d)
                for d in _policies(docs, GUARDS)}
    assert rendered == {(d["kind"], d["metadata"]["name"]): _without_metadata(d)
                        for d in expected}


def test_guard_is_kept_when_the_chart_is_uninstalled() -> None:
    docs = render()
    guards = _policies(docs, GUARDS | {CLASS_POLICY})
    assert len(guards) == 6
    for doc in guards:
        assert doc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_guard_can_be_disabled() -> None:
    docs = render({"namespaceGuard": {"enabled": False}})
    assert not _policies(docs, GUARDS)
    assert len(_policies(docs, {CLASS_POLICY})) == 2, "the class limits are their own switch"


def test_the_class_limits_template_is_fresh_and_the_operators_policy() -> None:
    assert chart_guard.CLASS_TEMPLATE.read_text() == chart_guard.render_class_template(), (
        "templates/class-limits.yaml is stale: run `python -m tests.support.chart_guard`"
    )
    rendered = _policies(render(), {CLASS_POLICY})
    assert [_without_metadata(d) for d in rendered] == [
        _without_metadata(d) for d in class_limits_policy()]
    assert not _policies(render({"exitClasses": {"limitsPolicy": {"enabled": False}}}),
                         {CLASS_POLICY})


def test_the_chart_installs_a_default_class_from_values() -> None:
    assert not [d for d in render() if d["kind"] == "TenantExitClass"]
    spec = {"deletion": {"minimumGracePeriod": "72h"}, "customerLanguage": "nl"}
    docs = render({"exitClasses": {"default": {"create": True, "name": "house", "spec": spec}}})
    (made,) = [d for d in docs if d["kind"] == "TenantExitClass"]
    assert made["metadata"]["name"] == "house" and made["spec"] == spec
    assert made["metadata"]["annotations"]["tenantexit.io/is-default-class"] == "true"
