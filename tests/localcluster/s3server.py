"""An S3-compatible server over real HTTP on a loopback port, for tests and the demo.

This is moto's standalone server (`python -m moto.server`) run as a separate
process of the test venv: clients talk real HTTP to it, signatures, multipart
uploads and errors included. Issue 2 prefers SeaweedFS's gateway, but building
it here costs more than the harness budget; moto is the documented fallback.

Known limits of moto, so tests do not misread them:
- state lives in the server's memory: `stop()`/`kill()` followed by `start()`
  gives an EMPTY server on the same port (buckets and objects are gone);
- any access key and secret are accepted (there is no IAM enforcement), so a
  test cannot prove that bad credentials are rejected here.
"""

from __future__ import annotations

import atexit
import secrets
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from tests.localcluster.serverproc import ServerProcess, free_port

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


class S3Server:
    """moto's S3 server as a child process; `start()`/`stop()` or a context manager."""

    host = "127.0.0.1"

    def __init__(self, workdir: Path | None = None, *, port: int | None = None,
                 region: str = "eu-west-1") -> None:
        self._owns_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="tenant-exit-s3-"))
        self.port = port or free_port()
        self.region = region
        self.access_key = "tenant-exit-test"
        self.secret_key = secrets.token_urlsafe(24)
        self._proc: ServerProcess | None = None
        self._atexit_registered = False

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- life cycle -----------------------------------------------------
    def start(self, timeout: float = 30.0) -> S3Server:
        """Start (or restart on the same port). A restarted moto server is empty."""
        if self._proc is not None and self._proc.alive():
            return self
        argv = [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]
        self._proc = ServerProcess("moto-server", argv, self.workdir / "moto.log",
                                   cwd=self.workdir)
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        try:
            self._proc.wait_until(self._responds, timeout, "serving HTTP")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, grace: float = 10.0) -> None:
        if self._proc is not None:
            self._proc.stop(grace)

    def kill(self) -> None:
        """SIGKILL the server — for fault tests (its state is lost either way)."""
        if self._proc is not None:
            self._proc.kill()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.alive() else None

    def log(self) -> str:
        return (self.workdir / "moto.log").read_text(errors="replace")

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

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

