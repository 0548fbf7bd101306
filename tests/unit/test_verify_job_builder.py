"""The verify Job and its plan Secret are pure functions of (owner, attempt, settings,
plan): in the operator's namespace, the operator's image, no key and no API token."""

from __future__ import annotations

from typing import Any

from kubernetes.client import ApiClient

from tenant_exit.api.verify_result import PLAN_KEY, VerifyPlan
from tenant_exit.kube.jobs import TERMINATION_LOG
from tenant_exit.kube.verify_jobs import build_plan_secret, build_verify_job
from tenant_exit.settings import OperatorSettings
from tests.support.exits import make_exit

SETTINGS = OperatorSettings(operator_namespace="exits-home", verify_deadline_seconds=1800,
                            worker_image="registry.invalid/tenant-exit:1")
PLAN = VerifyPlan("p/x/attempt-2/manifest.json", "ab" * 32, "http://s3/m?sig=1",
                  {"p/x/attempt-2/database-ons.sql.zst.age": "http://s3/d?sig=2"})


def rendered(attempt: int = 2) -> dict[str, Any]:
    job = build_verify_job(make_exit().owner, attempt, SETTINGS)
    result: dict[str, Any] = ApiClient().sanitize_for_serialization(job)
    return result


def test_same_inputs_give_the_same_job() -> None:
    assert rendered() == rendered()


def test_the_job_runs_in_the_operators_namespace_owned_by_the_exit() -> None:
    job = rendered()
    assert job["metadata"]["name"] == "zorggroep-noord-verify-2"
    assert job["metadata"]["namespace"] == "exits-home"
    [owner] = job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "TenantExit", "zorggroep-noord", "uid-zorggroep-noord")
    assert job["spec"]["activeDeadlineSeconds"] == 1800


def test_the_pod_has_the_operators_image_no_token_no_key_and_a_restricted_context() -> None:
    pod = rendered()["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == "registry.invalid/tenant-exit:1"
    assert container["command"] == ["tenant-exit", "worker", "verify"]
    assert pod["automountServiceAccountToken"] is False
    assert "volumes" not in pod, "it mounts nothing of the tenant's"
    env = {e["name"]: e for e in container["env"]}
    assert set(env) == {"TENANT_EXIT_TERMINATION_LOG", "TENANT_EXIT_VERIFY_PLAN"}
    assert env["TENANT_EXIT_VERIFY_PLAN"]["valueFrom"]["secretKeyRef"] == {
        "name": "zorggroep-noord-verify-2", "key": PLAN_KEY}
    assert container["terminationMessagePath"] == TERMINATION_LOG
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_the_plan_secret_holds_the_links_and_is_collected_with_the_exit() -> None:
    secret = ApiClient().sanitize_for_serialization(
        build_plan_secret(make_exit().owner, 2, "exits-home", PLAN))
    assert (secret["metadata"]["name"], secret["metadata"]["namespace"]) == (
        "zorggroep-noord-verify-2", "exits-home")
    assert secret["metadata"]["ownerReferences"][0]["name"] == "zorggroep-noord"
    assert VerifyPlan.from_json(secret["stringData"][PLAN_KEY]) == PLAN
