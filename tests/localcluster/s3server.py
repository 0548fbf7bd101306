"""An S3-compatible server over real HTTP on a loopback port, for tests and the demo.

This is moto's standalone server (`python -m moto.server`) run as a separate
process of the test venv: clients talk real HTTP to it, signatures, multipart
uploads and errors included. Issue 2 prefers SeaweedFS's gateway, but building
it here costs more than the harness budget; moto is the documented fallback.

Known limits of moto, so tests do not misread them:
- state lives in the server's memory: `stop()`/`kill()` followed by `start()`
  gives an EMPTY server on the same port (buckets and objects are gone);
- by default any access key and secret are accepted, so a test of the default
  server cannot prove that bad credentials are rejected. `enforce_auth=True`
  turns on moto's IAM-backed checking (see `S3Server.__init__`): then a wrong
  key or secret gets S3's real InvalidAccessKeyId / SignatureDoesNotMatch.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.localcluster.serverproc import ChildServer, free_port

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def client_config(**overrides: Any) -> Config:
    """botocore settings that work against S3-compatible stores, not only AWS.

    boto3 >= 1.36 adds CRC checksums to every request and validates them on
    responses; several S3-compatible stores reject or lack them, so send and
    check checksums only where the API requires them. Path-style addressing
    avoids needing wildcard DNS (`bucket.host`) for a custom endpoint.
    """
    settings: dict[str, Any] = {
        "request_checksum_calculation": "when_required",
        "response_checksum_validation": "when_required",
        "s3": {"addressing_style": "path"},
        "retries": {"max_attempts": 3, "mode": "standard"},
        "connect_timeout": 5,
        "read_timeout": 60,
    }
    settings.update(overrides)
    return Config(**settings)


def transfer_config(**overrides: Any) -> TransferConfig:
    """Managed-transfer settings: the CRT transfer client ignores `endpoint_url`,
    so pin the classic one."""
    settings: dict[str, Any] = {"preferred_transfer_client": "classic"}
    settings.update(overrides)
    return TransferConfig(**settings)


class S3Server(ChildServer):
    """moto's S3 server as a child process; `start()`/`stop()` or a context manager.
    Its state is in memory: a killed or restarted server is empty."""

    LOG_NAME = "moto.log"

    host = "127.0.0.1"

    # The IAM calls `_provision_access_key` makes before moto starts checking keys.
    _SETUP_ACTIONS = 3
    _USER = "tenant-exit-harness"

    def __init__(self, workdir: Path | None = None, *, port: int | None = None,
                 region: str = "eu-west-1", enforce_auth: bool = False) -> None:
        """`enforce_auth=True`: moto checks every request's key and signature.

        moto authenticates only after INITIAL_NO_AUTH_ACTION_COUNT unauthenticated
        actions (default: never). We allow exactly the IAM calls that create a real
        user with an S3 policy and an access key, and use that key from then on, so
        `client()`, `env()` and `access_key`/`secret_key` work as without it.
        """
        self.enforce_auth = enforce_auth
        super().__init__(workdir, "tenant-exit-s3-")
        self.port = port or free_port()
        self.region = region
        self.access_key = "tenant-exit-test"
        self.secret_key = secrets.token_urlsafe(24)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- life cycle -----------------------------------------------------
    def start(self, timeout: float = 30.0) -> S3Server:
        """Start (or restart on the same port). A restarted moto server is empty."""
        if self.running():
            return self
        argv = [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]
        env = None
        if self.enforce_auth:
            env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(self._SETUP_ACTIONS))
        process = self._launch("moto-server", argv, env=env, cwd=self.workdir)
        try:
            process.wait_until(self._responds, timeout, "serving HTTP")
            if self.enforce_auth:
                # A (re)started moto has no IAM state: provision the key every start.
                self._provision_access_key()
        except BaseException:
            self.stop()
            raise
        return self

    # -- clients --------------------------------------------------------
    def client(self, **config_overrides: Any) -> S3Client:
        """A boto3 S3 client for this server, configured as for any S3-compatible store."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=client_config(**config_overrides),
        )

    def create_bucket(self, name: str) -> str:
        """Create `name` (idempotent) and return it."""
        s3 = self.client()
        try:
            s3.create_bucket(
                Bucket=name,
                CreateBucketConfiguration={"LocationConstraint": self.region},  # type: ignore[typeddict-item]
            )
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        return name

    def env(self) -> dict[str, str]:
        """AWS-style environment for child processes (e.g. the backup worker)."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
        }

    # -- internals ------------------------------------------------------
    def _provision_access_key(self) -> None:
        """Create the harness's IAM user, S3 policy and access key in exactly
        `_SETUP_ACTIONS` calls, then check that moto now rejects an unknown key."""
        # Any key signs these: moto does not check the first `_SETUP_ACTIONS` actions.
        iam = boto3.session.Session().client(
            "iam", endpoint_url=self.endpoint_url, region_name=self.region,
            aws_access_key_id="setup", aws_secret_access_key="setup",
            config=client_config(retries={"max_attempts": 1}))
        iam.create_user(UserName=self._USER)
        iam.put_user_policy(UserName=self._USER, PolicyName="s3-all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName=self._USER)["AccessKey"]
        self.access_key, self.secret_key = key["AccessKeyId"], key["SecretAccessKey"]
        probe = boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region,
            aws_access_key_id="AKIANOTAREALKEY00000", aws_secret_access_key="wrong",
            config=client_config(retries={"max_attempts": 1}))
        try:
            probe.list_buckets()
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "InvalidAccessKeyId":
                return
            raise
        raise RuntimeError("moto accepted an unknown access key: authentication is not enforced")

    def _responds(self) -> bool:
        # moto's own management API answers without S3 auth once the server is up.
        url = f"{self.endpoint_url}/moto-api/"
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - own loopback server
                return bool(resp.status < 500)
        except urllib.error.HTTPError as err:
            return err.code < 500
        except OSError:
            return False

