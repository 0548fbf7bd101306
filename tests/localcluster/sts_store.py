"""An S3 store that enforces STS session policies: SeaweedFS's `weed server` with
its S3 gateway and STS (AssumeRole with an inline session policy).

moto, the tests' S3 server, issues session credentials but evaluates only the
role's own policies, never the session policy, so a test against it cannot show
that upload credentials are scoped. SeaweedFS evaluates both (base policy AND
session policy) on every request made with a session token, on its S3 port.
Built from its Go module into the cache by build-seaweedfs.sh (bootstrap runs it).

The store has one static identity, the platform's (`access_key`/`secret_key`,
admin on every bucket), and one role, `role_arn`, which only that identity may
assume (trust policy) and which may do anything in S3: as on AWS, the session
policy is what narrows a session to one exit's folder.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import secrets
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from tenant_exit.storage.s3client import make_client
from tests.localcluster.serverproc import ChildServer, port_accepts

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUILD = Path(__file__).resolve().parent / "build-seaweedfs.sh"
ACCOUNT = "000000000000"
# Not the operator's default for an empty sessionRoleArn (api/spec.py): the store
# knows no other role, so a session it issues proves the spec's ARN was asked for.
ROLE = "tenant-exit-upload-e2e"
# weed serves gRPC on each HTTP port + 10000: pick ports with that room.
_PORTS = range(20000, 55000)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def weed_port_pair(taken: set[int]) -> int:
    """A free port whose gRPC twin (port + 10000) is free too, neither in `taken`;
    both are added to it. The bench's SeaweedFS picks its ports the same way."""
    while True:
        port = random.choice(_PORTS)
        if port not in taken and _free(port) and _free(port + 10000):
            taken.update({port, port + 10000})
            return port


def weed_binary() -> str:
    """The cached `weed`, built first if missing (minutes, once per machine)."""
    out = subprocess.run([str(BUILD)], check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


class SessionPolicyStore(ChildServer):
    """SeaweedFS with STS; the same client-facing attributes as S3Server."""

    LOG_NAME = "weed.log"
    host = "127.0.0.1"

    def __init__(self, workdir: Path | None = None, region: str = "us-east-1") -> None:
        super().__init__(workdir, "tenant-exit-weed-")
        self.region = region
        self.access_key = "PLATFORMKEY" + secrets.token_hex(6).upper()
        self.secret_key = secrets.token_urlsafe(24)
        self.role_arn = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
        self.port = 0

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _iam_config(self) -> dict[str, Any]:
        return {
            "sts": {"tokenDuration": "1h", "maxSessionLength": "12h",
                    "issuer": "tenant-exit-test-sts", "accountId": ACCOUNT,
                    "signingKey": base64.b64encode(secrets.token_bytes(32)).decode()},
            "policy": {"defaultEffect": "Deny"},
            "policies": [{"name": "all-buckets", "document": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ["s3:*"],
                               "Resource": ["arn:aws:s3:::*"]}]}}],
            "roles": [{"roleName": ROLE, "roleArn": self.role_arn,
                       "attachedPolicies": ["all-buckets"],
                       "trustPolicy": {"Version": "2012-10-17", "Statement": [{
                           "Effect": "Allow", "Action": ["sts:AssumeRole"],
                           "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/platform"}}]}}],
        }

    def start(self, timeout: float = 90) -> SessionPolicyStore:
        if self.running():
            return self
        weed = weed_binary()
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        identities = {"identities": [{
            "name": "platform",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}
        for name, content in (("s3.json", identities), ("iam.json", self._iam_config())):
            path = self.workdir / name
            path.write_text(json.dumps(content))
            path.chmod(0o600)
        taken: set[int] = set()
        self.port = weed_port_pair(taken)
        argv = [weed, "server", f"-dir={data}", f"-ip={self.host}", "-s3",
                f"-s3.port={self.port}", f"-s3.config={self.workdir / 's3.json'}",
                f"-s3.iam.config={self.workdir / 'iam.json'}",
                f"-master.port={weed_port_pair(taken)}", f"-volume.port={weed_port_pair(taken)}",
                f"-filer.port={weed_port_pair(taken)}",
                # Each bucket is a collection with volumes of its own (about 7 on first
                # write); the default 8 volumes would leave room for one bucket only.
                "-volume.max=200", "-master.volumeSizeLimitMB=256"]
        process = self._launch("seaweedfs", argv)
        try:
            process.wait_until(lambda: port_accepts(self.host, self.port), timeout, "serving S3")
        except BaseException:
            self.stop()
            raise
        return self

    def client(self, **credentials: str) -> S3Client:
        """An S3 client with the platform's keys, or with `credentials` (a session's)."""
        keys = credentials or {"aws_access_key_id": self.access_key,
                               "aws_secret_access_key": self.secret_key}
        return make_client(endpoint_url=self.endpoint_url, region=self.region, max_attempts=1,
                           **keys)

    def create_bucket(self, name: str, timeout: float = 60) -> str:
        """Create `name` and write once: the gateway answers before the filer behind it
        is ready, and the first write allocates volumes (seconds)."""
        s3 = self.client()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
                    s3.create_bucket(Bucket=name)
                s3.put_object(Bucket=name, Key=".warm-up", Body=b"x")
                s3.delete_object(Bucket=name, Key=".warm-up")
                return name
            except (ClientError, BotoCoreError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": self.region, "AWS_ENDPOINT_URL_S3": self.endpoint_url}
