"""A failure while observing (or of an action) becomes a condition-ready ExitError,
never a secret."""

from kubernetes.client.exceptions import ApiException

from tenant_exit.api import conditions as c
from tenant_exit.kube.secrets import SecretProblem
from tenant_exit.phases import actions as a
from tenant_exit.reconcile.failures import classify, classify_observation
from tenant_exit.storage.sts import SessionRefused


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


def test_a_refused_upload_session_stalls_and_an_unreachable_store_is_retried() -> None:
    """The store's refusal (4xx) needs the platform to act; a 5xx or no answer does not."""
    refused = classify(a.CopyS3Credentials(attempt=2), "zg",
                       SessionRefused("the store refused AssumeRole", permanent=True))
    flaky = classify(a.CopyS3Credentials(attempt=2), "zg",
                     SessionRefused("no session credentials", permanent=False))

    assert refused.permanent and not refused.unexpected
    assert refused.reason == c.BACKUP_START_FAILED
    assert "TenantExit zg: CopyS3Credentials failed: the store refused" in refused.message
    assert not flaky.permanent and not flaky.unexpected
