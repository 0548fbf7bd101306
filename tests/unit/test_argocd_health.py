"""The Argo CD health check for TenantExit, run in Lua 5.1 (what Argo CD's gopher-lua
speaks) against TenantExit objects as a user would see them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from lupa import lua51

from tenant_exit.api import conditions as c
from tenant_exit.api import names
from tenant_exit.phases.actions import status_actions
from tenant_exit.phases.machine import decide
from tenant_exit.phases.observed import NamespaceState, Observed
from tenant_exit.phases.status_update import fold
from tests.support.exits import example_spec, make_exit

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "argocd" / "health-tenantexit.lua"


def health(obj: dict[str, Any]) -> tuple[str, str]:
    """Runs the script the way Argo CD does: a global `obj`, the returned table read."""
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(SCRIPT.read_text())
    return str(result["status"]), str(result["message"])


def exit_object(
    phase: str | None = None, conditions: list[dict[str, Any]] | None = None,
    generation: int = 1, observed: int | None = 1,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": names.API_VERSION,
        "kind": names.KIND,
        "metadata": {"name": "zorggroep-noord", "generation": generation},
        "spec": {"tenantNamespace": "tenant-zorggroep-noord"},
    }
    if phase is not None:
        obj["status"] = {"phase": phase, "conditions": conditions or []}
        if observed is not None:
            obj["status"]["observedGeneration"] = observed
    elif conditions is not None:
        obj["status"] = {"conditions": conditions, "observedGeneration": observed}
    return obj


def cond(type_: str, status: str, message: str = "") -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": "Test", "message": message,
            "lastTransitionTime": "2026-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("ReadOnlyLicensed", "Progressing"),
        ("BackupRunning", "Progressing"),
        ("Deleting", "Progressing"),
        ("AwaitingReceipt", "Suspended"),
        ("Deleted", "Healthy"),
    ],
)
def test_each_phase_maps_to_its_health(phase: str, expected: str) -> None:
    assert health(exit_object(phase))[0] == expected


def test_every_phase_the_api_knows_is_mapped() -> None:
    from tenant_exit.api.status import Phase

    for phase in Phase:
        assert health(exit_object(phase.value))[0] != "Unknown", phase


def test_a_new_exit_without_status_is_progressing() -> None:
    status, message = health(exit_object(None))
    assert status == "Progressing"
    assert "operator" in message


REFUSALS = [
    pytest.param("kube-system", None, c.PROTECTED_NAMESPACE, id="protected"),
    pytest.param("tenant-a", NamespaceState(name="tenant-a", guarded_by="another-exit"),
                 c.NAMESPACE_CLAIMED, id="claimed"),
    pytest.param("tenant-a", NamespaceState(name="tenant-a", terminating=True),
                 c.NAMESPACE_NOT_FOUND, id="terminating"),
]


@pytest.mark.parametrize(("namespace", "state", "reason"), REFUSALS)
def test_a_refused_exit_without_a_phase_is_degraded(
        namespace: str, state: NamespaceState | None, reason: str) -> None:
    """Refused exits never get a phase: Progressing would show them as on their way
    forever. The status is the one the admission decision really writes."""
    status = refused_status(namespace, state)
    assert status["conditions"] and "phase" not in status
    stalled = next(x for x in status["conditions"] if x["type"] == "Stalled")
    assert stalled["reason"] == reason
    obj = exit_object(None)
    obj["status"] = status
    health_status, message = health(obj)
    assert health_status == "Degraded"
    assert stalled["message"] in message


def refused_status(namespace: str, state: NamespaceState | None) -> dict[str, Any]:
    spec = example_spec(namespace)
    exit = make_exit(spec=spec)
    seen = Observed(now=datetime(2027, 1, 1, tzinfo=UTC), operator_namespace="tenant-exit-system",
                    namespace=state)
    decided = decide(exit, seen)
    status = fold(exit.status, status_actions(decided), generation=1,
                  now=datetime(2027, 1, 1, tzinfo=UTC))
    dumped: dict[str, Any] = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def test_an_exit_waiting_for_its_namespace_is_progressing_and_says_why() -> None:
    why = "Namespace tenant-a does not exist; waiting for it"
    waiting = [cond("Ready", "False", why)]
    assert health(exit_object(None, waiting)) == (
        "Progressing", f"Waiting for the operator to pick up this TenantExit: {why}")


def test_stalled_is_degraded_with_the_operators_message() -> None:
    why = "Secret tenant-x/dump has no key 'password'"
    obj = exit_object("BackupRunning", [cond("Ready", "False"), cond("Stalled", "True", why)])
    status, message = health(obj)
    assert status == "Degraded"
    assert "BackupRunning" in message
    assert why in message


def test_stalled_false_does_not_degrade() -> None:
    assert health(exit_object("AwaitingReceipt", [cond("Stalled", "False")]))[0] == "Suspended"


def test_deleted_stays_healthy_even_with_a_leftover_stalled_condition() -> None:
    assert health(exit_object("Deleted", [cond("Stalled", "True", "old")]))[0] == "Healthy"


def test_a_spec_change_not_yet_observed_is_progressing() -> None:
    status, message = health(exit_object("AwaitingReceipt", generation=3, observed=2))
    assert status == "Progressing"
    assert "generation 3" in message


def test_the_ready_message_is_shown_while_progressing() -> None:
    obj = exit_object("BackupRunning", [cond("Ready", "False", "backup Job attempt 1 running")])
    assert health(obj) == ("Progressing", "BackupRunning: backup Job attempt 1 running")


def test_an_unknown_phase_is_unknown_not_healthy() -> None:
    assert health(exit_object("Paused"))[0] == "Unknown"


def test_the_gitops_doc_embeds_this_exact_script() -> None:
    """docs/gitops.md shows the argocd-cm snippet users copy; it must not drift."""
    doc = (REPO / "docs" / "gitops.md").read_text()
    block = doc.split("```yaml\n# argocd-cm\n", 1)[1].split("```", 1)[0]
    config = yaml.safe_load(block)
    key = f"resource.customizations.health.{names.GROUP}_{names.KIND}"
    assert config["data"][key] == SCRIPT.read_text()


# --- exits on a TenantExitClass (issue 16) ---------------------------------------
# Statuses come from the operator's own code: the class's recorded policy applied
# by TenantExit.from_body, the phase decisions, and the pass's failure conditions.

CLASS_POLICY = {"className": "standard", "gracePeriod": "168h", "minimumGracePeriod": "72h",
                "writeFreeze": "RevokeWrites",
                "destination": {"bucket": "platform-exits", "prefix": "exits/",
                                "credentialsSecret": {"namespace": "tenant-exit-system",
                                                      "name": "platform-s3"}}}


def class_exit_spec(**extra: Any) -> dict[str, Any]:
    spec = example_spec("tenant-a")
    for key in ("readOnly", "deletion"):
        del spec[key]
    del spec["destination"]["s3"]
    return {**spec, "className": "standard", **extra}


def as_status(status: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def test_a_class_based_exit_taken_on_is_progressing_then_suspended() -> None:
    """Class defaults (a write freeze, the bucket) come from status.policy: the exit
    enters ReadOnlyLicensed like one that spelt them out."""
    exit = make_exit(spec=class_exit_spec(), status={"policy": CLASS_POLICY})
    assert exit.spec.destination is not None and exit.spec.destination.s3 is not None
    now = datetime(2027, 1, 1, tzinfo=UTC)
    seen = Observed(now=now, operator_namespace="tenant-exit-system",
                    namespace=NamespaceState(name="tenant-a", uid="ns-uid"), guard_problems=())
    status = fold(exit.status, status_actions(decide(exit, seen)), generation=1, now=now)
    assert status.phase is not None and status.policy is not None
    obj = exit_object(None)
    obj["spec"] = class_exit_spec()
    obj["status"] = as_status(status)
    assert health(obj)[0] == "Progressing"
    obj["status"]["phase"] = "AwaitingReceipt"
    assert health(obj)[0] == "Suspended"
    obj["status"]["phase"] = "Deleted"
    assert health(obj)[0] == "Healthy"


def test_an_exit_refused_for_its_class_limits_is_degraded_with_the_limit_named() -> None:
    from tenant_exit.api.policy import ExitPolicy, violations
    from tenant_exit.reconcile.failures import ExitError
    from tenant_exit.reconcile.passes import failed

    policy = ExitPolicy.model_validate(CLASS_POLICY)
    exit = make_exit(spec=class_exit_spec(deletion={"gracePeriod": "1h"}))
    problems = violations(exit.under(policy).spec, policy)
    error = ExitError(c.CLASS_LIMITS_EXCEEDED, "refused: " + "; ".join(problems), permanent=True)
    now = datetime(2027, 1, 1, tzinfo=UTC)
    obj = exit_object(None)
    obj["status"] = as_status(fold(exit.status, failed(error), generation=1, now=now))
    status, message = health(obj)
    assert status == "Degraded"
    assert "gracePeriod 1h is shorter than the minimum 72h of TenantExitClass standard" in message


def test_an_exit_waiting_for_its_class_is_progressing_and_says_so() -> None:
    from tenant_exit.api.policy import choose_class
    from tenant_exit.reconcile.failures import ExitError
    from tenant_exit.reconcile.passes import failed

    _, problem = choose_class("standard", [])
    assert problem is not None
    error = ExitError(c.CLASS_NOT_FOUND, problem, permanent=False)
    now = datetime(2027, 1, 1, tzinfo=UTC)
    obj = exit_object(None)
    obj["status"] = as_status(fold(make_exit().status, failed(error), generation=1, now=now))
    assert health(obj) == ("Progressing", "Waiting for the operator to pick up this TenantExit: "
                                          "TenantExitClass standard (spec.className) does not "
                                          "exist; waiting for it")
