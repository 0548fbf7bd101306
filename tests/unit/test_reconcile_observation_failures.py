"""A failure while observing becomes a condition-ready ExitError, never a secret."""

from kubernetes.client.exceptions import ApiException

from tenant_exit.api import conditions as c
from tenant_exit.kube.secrets import SecretProblem
from tenant_exit.reconcile.failures import classify_observation


def test_a_missing_secret_is_permanent_and_named() -> None:
    error = classify_observation("zg", SecretProblem("Secret tenant-exit-system/exit-s3 does "
                                                     "not exist"))

    assert error.permanent and error.reason == c.OBSERVE_FAILED
    assert "TenantExit zg" in error.message and "tenant-exit-system/exit-s3" in error.message


def test_api_errors_say_status_and_reason_only() -> None:
    forbidden = ApiException(status=403, reason="Forbidden")
    forbidden.body = '{"message": "secret value s3cr3t echoed"}'
    unavailable = ApiException(status=503, reason="Service Unavailable")

    refused = classify_observation("zg", forbidden)
    flaky = classify_observation("zg", unavailable)

    assert refused.permanent and "HTTP 403 Forbidden" in refused.message
    assert "s3cr3t" not in refused.message
    assert not flaky.permanent
