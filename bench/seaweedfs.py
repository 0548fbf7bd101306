"""A local SeaweedFS (`weed server` with its S3 gateway) for the benchmark.

moto, the tests' S3 server, is Python and competes with the pipeline for the
same cores; SeaweedFS is a Go S3 gateway operators really run, so figures
against it are closer to a production store. The same build as the tests'
(tests/localcluster/sts_store.py).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.localcluster.serverproc import ChildServer, port_accepts
from tests.localcluster.sts_store import weed_binary, weed_port_pair

from tenant_exit.storage.s3client import make_client


class SeaweedS3(ChildServer):
    LOG_NAME = "weed.log"

    def __init__(self, workdir: Path, region: str = "us-east-1") -> None:
        super().__init__(workdir, "tenant-exit-weed-")
        self.region = region
        self.access_key = "bench-access-key"
        self.secret_key = "bench-secret-key"
        self.endpoint_url = ""

    def start(self, timeout: float = 60) -> SeaweedS3:
        weed = weed_binary()
        self.workdir.mkdir(parents=True, exist_ok=True)
        identities = {"identities": [{
            "name": "bench",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}
        config = self.workdir / "s3.json"
        config.write_text(json.dumps(identities))
        config.chmod(0o600)
        taken: set[int] = set()
        s3_port = weed_port_pair(taken)
        self.endpoint_url = f"http://127.0.0.1:{s3_port}"
        argv = [weed, "server", f"-dir={self.workdir}", "-ip=127.0.0.1", "-s3",
                f"-s3.port={s3_port}", f"-s3.config={config}",
                f"-master.port={weed_port_pair(taken)}", f"-volume.port={weed_port_pair(taken)}",
                f"-filer.port={weed_port_pair(taken)}"]
        process = self._launch("seaweedfs", argv)
        process.wait_until(lambda: port_accepts("127.0.0.1", s3_port), timeout, "serving S3")
        return self

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": self.region}

    def create_bucket(self, name: str) -> str:
        client = make_client(endpoint_url=self.endpoint_url, region=self.region,
                             aws_access_key_id=self.access_key,
                             aws_secret_access_key=self.secret_key)
        # The gateway answers before the filer behind it is ready: retry briefly.
        for _ in range(50):
            try:
                client.create_bucket(Bucket=name)
                break
            except client.exceptions.BucketAlreadyOwnedByYou:
                break
            except Exception:  # any early-start refusal; the last try below re-raises
                time.sleep(0.2)
        else:
            client.create_bucket(Bucket=name)
        # The first write allocates volumes (seconds): keep that out of the timings.
        client.put_object(Bucket=name, Key=".warm-up", Body=b"x")
        client.delete_object(Bucket=name, Key=".warm-up")
        return name
