"""A failure sets a condition and a Warning Event and never leaks a credential;
a permanent one (bad database password) waits for a fix and a spec change."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.exit_tenant import ExitTenant, in_seconds
from tests.support.operator_process import OperatorProcess
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

WRONG_PASSWORD = "wrong-password-7c1e"


def set_dump_password(tenant: ExitTenant, password: str) -> None:
    encoded = base64.b64encode(password.encode()).decode()
    tenant.core.patch_namespaced_secret(
        "exit-dump-credentials", tenant.namespace, {"data": {"password": encoded}}
    )


def test_a_wrong_database_password_stalls_the_exit_until_fixed(
    exit_tenant: ExitTenant, exit_operator: OperatorProcess
) -> None:
    set_dump_password(exit_tenant, WRONG_PASSWORD)
    spec = exit_tenant.spec(until=in_seconds(3600))
    exit_tenant.apply_exit(spec)

    def stalled() -> dict | None:
        found = exit_tenant.condition("Stalled")
        return found if found and found["status"] == "True" else None

    condition = wait_for("the exit to stall", stalled)
    assert condition["reason"] == "ReadOnlyFailed"
    assert "Access denied" in condition["message"]
    assert "MySQL error 1045" in condition["message"]
    assert "phase" not in (exit_tenant.exit() or {}).get("status", {})
    warnings = [e for e in exit_tenant.events() if e["type"] == "Warning"]
    assert any(e["reason"] == "ReadOnlyFailed" for e in warnings)

    # The fix: correct the Secret, then change the spec (here: a longer licence).
    set_dump_password(exit_tenant, exit_tenant.db.root_password)
    spec["readOnly"]["until"] = in_seconds(7200).strftime("%Y-%m-%dT%H:%M:%SZ")
    exit_tenant.apply_exit(spec)
    exit_tenant.wait_for_phase("ReadOnlyLicensed")
    cleared = exit_tenant.condition("Stalled")
    assert cleared is not None and cleared["status"] == "False"

    exposed = (
        json.dumps(exit_tenant.exit()) + json.dumps(exit_tenant.events()) + exit_operator.logs()
    )
    for secret in [WRONG_PASSWORD, *exit_tenant.secrets]:
        assert secret not in exposed
