"""Upload session credentials from the destination store's STS (AssumeRole).

The platform's keys stay in the operator: it asks the store for a session limited
by an inline session policy (storage.session_policy) and only that session goes
into the tenant namespace. The STS endpoint is the destination's endpoint: MinIO,
SeaweedFS, Ceph RGW and moto serve STS on their S3 port; empty is AWS's regional STS.

A refusal becomes SessionRefused with the store's error code and our own words:
never the request (it was signed with the platform's keys) nor the response body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import Session

from tenant_exit.storage.s3client import client_config

MIN_SESSION_SECONDS = 900
"""STS's shortest session."""


class SessionRefused(Exception):
    """The store would not issue upload session credentials; the message is ours and
    secret-free, and says what the platform can do. `permanent`: a refusal (4xx) that
    no retry fixes, as opposed to an unreachable or failing (5xx) store."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SessionCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime


def session_name(exit_name: str, attempt: int) -> str:
    """RoleSessionName (2-64 of `[\\w+=,.@-]`): shows in the store's audit log which
    exit and attempt a request came from."""
    name = f"tenant-exit-{exit_name}-{attempt}"
    return name[:64]


def assume_upload_role(*, endpoint: str | None, region: str | None, access_key_id: str,
                       secret_access_key: str, role_arn: str, name: str, policy: str,
                       seconds: int, max_attempts: int = 3) -> SessionCredentials:
    """AssumeRole on the destination's store with the platform's keys and `policy`."""
    sts: Any = Session().create_client(
        "sts", endpoint_url=endpoint or None, region_name=region or "us-east-1",
        aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
        config=client_config(max_attempts=max_attempts, connect_timeout=5, read_timeout=30))
    where = endpoint or "AWS STS"
    try:
        answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=name, Policy=policy,
                                 DurationSeconds=max(seconds, MIN_SESSION_SECONDS))
    except ClientError as error:
        err = error.response.get("Error", {})
        code = err.get("Code") or "error"
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        raise SessionRefused(
            f"the store at {where} refused AssumeRole of {role_arn} (HTTP {status}, {code}); "
            "the keys in spec.destination.s3.credentialsSecret must be allowed to assume "
            "spec.destination.s3.sessionRoleArn with an inline session policy. A store "
            "without STS needs uploadCredentials: Presigned, or uploadCredentials: "
            "PlatformKeys with a key limited to this exit (docs/security.md)",
            permanent=not _transient(status, code)) from None
    except BotoCoreError as error:
        raise SessionRefused(
            f"no session credentials from {where}: {type(error).__name__}",
            permanent=False) from None
    creds = answer.get("Credentials") or {}
    try:
        return SessionCredentials(
            access_key_id=creds["AccessKeyId"], secret_access_key=creds["SecretAccessKey"],
            session_token=creds["SessionToken"], expiration=creds["Expiration"])
    except KeyError as missing:
        raise SessionRefused(
            f"the store at {where} answered AssumeRole without {missing.args[0]}",
            permanent=True) from None


def _transient(status: object, code: str) -> bool:
    return (isinstance(status, int) and status >= 500) or code in {
        "Throttling", "ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable"}
