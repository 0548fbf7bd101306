"""A local SeaweedFS (`weed server` with its S3 gateway) for the benchmark.

moto, the tests' S3 server, is Python and competes with the pipeline for the
same cores; SeaweedFS is a Go S3 gateway operators really run, so figures
against it are closer to a production store. Built by bench/build-seaweedfs.sh.
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import time
from pathlib import Path

from tests.localcluster.serverproc import ChildServer, port_accepts

from tenant_exit.storage.s3client import make_client

BUILD = Path(__file__).resolve().parent / "build-seaweedfs.sh"
# weed serves gRPC on each HTTP port + 10000: pick ports with that room.
_PORTS = range(20000, 55000)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _port_pair() -> int:
    while True:
        port = random.choice(_PORTS)
        if _free(port) and _free(port + 10000):
            return port


class SeaweedS3(ChildServer):
    LOG_NAME = "weed.log"

    def __init__(self, workdir: Path, region: str = "us-east-1") -> None:
        super().__init__(workdir, "tenant-exit-weed-")
        self.region = region
        self.access_key = "bench-access-key"
        self.secret_key = "bench-secret-key"
        self.endpoint_url = ""

    def start(self, timeout: float = 60) -> SeaweedS3:
        weed = subprocess.run([str(BUILD)], check=True, capture_output=True,
                              text=True).stdout.strip().splitlines()[-1]
        self.workdir.mkdir(parents=True, exist_ok=True)
        identities = {"identities": [{
            "name": "bench",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}
        config = self.workdir / "s3.json"
        config.write_text(json.dumps(identities))
        config.chmod(0o600)
        s3_port = _port_pair()
        self.endpoint_url = f"http://127.0.0.1:{s3_port}"
        argv = [weed, "server", f"-dir={self.workdir}", "-ip=127.0.0.1", "-s3",
                f"-s3.port={s3_port}", f"-s3.config={config}",
                f"-master.port={_port_pair()}", f"-volume.port={_port_pair()}",
                f"-filer.port={_port_pair()}"]
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
