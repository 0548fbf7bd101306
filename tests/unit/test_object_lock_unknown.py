"""When the store will not say whether a bucket has Object Lock, the message names
the bucket and, for a refusal, the permission the operator's S3 identity lacks
(pure: the message is built from the store's error response)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from tenant_exit.storage.object_lock import lock_state_unknown


def _error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "says the store"},
                        "ResponseMetadata": {"HTTPStatusCode": status}},
                       "GetObjectLockConfiguration")


def test_a_refusal_names_the_missing_permission() -> None:
    message = str(lock_state_unknown("exits", "s3:GetBucketObjectLockConfiguration",
                                     _error("AccessDenied", 403)))
    assert "bucket exits" in message
    assert "AccessDenied (HTTP 403)" in message
    assert "needs s3:GetBucketObjectLockConfiguration on the bucket" in message


def test_a_store_failure_is_not_blamed_on_a_permission() -> None:
    message = str(lock_state_unknown("exits", "s3:GetBucketVersioning",
                                     _error("InternalError", 500)))
    assert "InternalError (HTTP 500)" in message
    assert "needs" not in message
