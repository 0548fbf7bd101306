"""One exit per namespace, and never of a protected one."""

from __future__ import annotations

import pytest

from tests.support.exit_tenant import ExitTenant, in_seconds
from tests.support.operator_process import OPERATOR_NAMESPACE
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


def stalled(exit_tenant: ExitTenant, name: str, reason: str) -> dict | None:
    condition = exit_tenant.condition("Stalled", name)
    return condition if condition and condition["reason"] == reason else None


def test_a_second_exit_of_a_namespace_is_refused_and_deleting_it_lifts_nothing(
    exit_tenant: ExitTenant,
) -> None:
    exit_tenant.apply_exit(exit_tenant.spec(until=in_seconds(3600)))
    exit_tenant.wait_for_phase("ReadOnlyLicensed")
    grants = exit_tenant.show_grants()
    duplicate = f"{exit_tenant.exit_name}-again"
    exit_tenant.apply_exit(exit_tenant.spec(until=in_seconds(3600)), name=duplicate)

    condition = wait_for(
        "the duplicate to stall", lambda: stalled(exit_tenant, duplicate, "NamespaceClaimed")
    )
    assert condition["status"] == "True"
    assert f"already being exited by TenantExit {exit_tenant.exit_name}" in condition["message"]
    assert "phase" not in (exit_tenant.exit(duplicate) or {}).get("status", {})

    exit_tenant.delete_exit(duplicate)
    meta = exit_tenant.namespace_meta()
    assert meta.labels["tenantexit.io/exit"] == exit_tenant.exit_name
    assert "tenantexit.io/guard" in meta.finalizers
    assert set(exit_tenant.reclaim_policies().values()) == {"Retain"}
    assert exit_tenant.show_grants() == grants
    assert exit_tenant.app_flag() == "true"


def test_the_operators_own_namespace_is_refused(exit_tenant: ExitTenant) -> None:
    spec = exit_tenant.spec(until=None)
    spec["tenantNamespace"] = OPERATOR_NAMESPACE
    name = f"{exit_tenant.exit_name}-own"
    exit_tenant.apply_exit(spec, name=name)
    condition = wait_for("the refusal", lambda: stalled(exit_tenant, name, "ProtectedNamespace"))
    assert "where the operator runs" in condition["message"]
    labels = exit_tenant.core.read_namespace(OPERATOR_NAMESPACE).metadata.labels or {}
    assert "tenantexit.io/exit" not in labels
    assert any(e["reason"] == "ProtectedNamespace" for e in exit_tenant.events(name))
    exit_tenant.delete_exit(name)


def test_an_exit_of_a_missing_namespace_waits_for_it(exit_tenant: ExitTenant) -> None:
    spec = exit_tenant.spec(until=None)
    spec["tenantNamespace"] = f"{exit_tenant.namespace}-missing"
    name = f"{exit_tenant.exit_name}-missing"
    exit_tenant.apply_exit(spec, name=name)

    def waiting() -> dict | None:
        ready = exit_tenant.condition("Ready", name)
        return ready if ready and ready["reason"] == "NamespaceNotFound" else None

    ready = wait_for("the wait for the namespace", waiting)
    assert ready["status"] == "False" and "does not exist" in ready["message"]
    exit_tenant.delete_exit(name)
