"""S3 clients for any S3-compatible store (AWS, Ceph, MinIO, SeaweedFS, moto).

Three choices here are forced by the stores we meet in the field, not by taste:
- boto3 >= 1.36 adds CRC checksums to every request and validates them on
  responses; several S3-compatible stores reject or lack them. We send and check
  checksums only where the API requires them and record our own SHA-256 of every
  object in the manifest instead (a multipart ETag is not a digest).
- Path-style addressing: a custom endpoint rarely has wildcard DNS for
  `bucket.host`.
- botocore's "standard" retry mode retries 5xx, throttling and connection
  errors/timeouts with exponential backoff and jitter; `max_attempts` bounds it.
The CRT transfer client ignores `endpoint_url`: the operator and the worker use
no managed transfers (our own multipart upload, plain get_object), so none is
configured here.

Credentials are never passed around here: botocore reads them from the Job's
mounted Secret (storage.file_credentials) or AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN in the environment.

The client is botocore's own, not boto3's: boto3 adds managed transfers we do not
use, and importing it pulls in s3transfer and multiprocessing — about a fifth of
the worker's start-up before its first event (issue 15). The client is the same
object boto3 would hand out, without the injected upload_file/download_file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.session import Session

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_MAX_ATTEMPTS = 8
"""Total attempts per request (first try + retries); with backoff this rides out
a store restart of roughly half a minute."""


def client_config(*, max_attempts: int = DEFAULT_MAX_ATTEMPTS, connect_timeout: float = 10,
                  read_timeout: float = 120) -> Config:
    """botocore settings that work against S3-compatible stores, not only AWS."""
    return Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # Several part uploads run at once (storage.multipart) next to other calls.
        max_pool_connections=16,
    )


def make_client(*, endpoint_url: str | None = None, region: str | None = None,
                max_attempts: int = DEFAULT_MAX_ATTEMPTS, session: Session | None = None,
                **credentials: Any) -> S3Client:
    """An S3 client for `endpoint_url` (None: AWS). Extra keyword arguments are
    explicit credentials (`aws_access_key_id`, `aws_secret_access_key`,
    `aws_session_token`; tests pass them); without them `session`'s credential
    chain (the Job's mounted Secret files, storage.file_credentials) or the
    environment's."""
    client: S3Client = (session or Session()).create_client(  # type: ignore[assignment]
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or None,
        config=client_config(max_attempts=max_attempts),
        **credentials,
    )
    return client
