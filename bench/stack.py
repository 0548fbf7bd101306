"""The bench's stack: the seeded database and documents tree, and the S3 server.

SeaweedFS (Go, an S3 gateway operators really run) is the default store: moto, the
tests' Python server, was the largest single cost on two shared cores and would
make every contender look alike. BENCH_S3=moto keeps it selectable;
BENCH_S3_ENDPOINT points at a store the bench does not start.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.localcluster.mariadb import MariaDBServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import seed_tenant
from tests.localcluster.seed_care import client_names
from tests.localcluster.seed_documents import plan_documents, write_documents

from bench.peers import S3Target
from bench.seaweedfs import SeaweedS3
from tenant_exit.storage.s3client import make_client

SCHEMA = "bench_zorg"


def seed(workdir: Path, clients: int, files: int, max_bytes: int) -> tuple[MariaDBServer, Path]:
    """Start (and seed once per size) the bench database and documents tree."""
    # v2: scanned records no longer grow with the client count (tests/localcluster/
    # seed_clinical.py); a datadir seeded before that is not reused.
    tag = f"{clients}c-{files}f-{max_bytes}b-v2"
    base = workdir / tag
    if os.environ.get("BENCH_RESEED") == "1":
        shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True, exist_ok=True)
    secret_file = base / "root-password"
    if not secret_file.exists():
        secret_file.write_text(os.urandom(12).hex())
        secret_file.chmod(0o600)
    db = MariaDBServer(workdir=base / "db", root_password=secret_file.read_text(),
                       buffer_pool="1G")
    db.start(timeout=120)
    docs = base / "documents"
    marker = base / "seeded.json"
    if not marker.exists():
        print(f"seeding {clients} clients and {files} files (once per size) ...", flush=True)
        shutil.rmtree(docs, ignore_errors=True)
        report = seed_tenant(db, SCHEMA, clients=clients, documents_dir=docs, files=files,
                             max_file_bytes=max_bytes, replace=True, seed=1)
        marker.write_text(json.dumps(report.to_dict(), indent=2, default=str))
        print(f"seeded in {report.seconds:.0f}s", flush=True)
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS bench_empty")
    return db, docs


def seed_documents_tree(workdir: Path, files: int, max_bytes: int) -> Path:
    """A documents tree alone, no database, written once per size: the documents
    worker's RSS at 10x the files without seeding 10x the database too."""
    base = workdir / f"documents-only-{files}f-{max_bytes}b-v1"
    tree, marker = base / "documents", base / "seeded"
    if not marker.exists():
        print(f"writing {files} files (once per size) ...", flush=True)
        shutil.rmtree(tree, ignore_errors=True)
        kept, excluded = plan_documents(1, files, client_names(1, max(2, files // 4)),
                                        max_bytes)
        write_documents(tree, 1, kept)
        write_documents(tree, 1, excluded)
        marker.touch()
    return tree


def tree_bytes(root: Path) -> tuple[int, int]:
    files = total = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            files += 1
            total += os.lstat(os.path.join(dirpath, name)).st_size
    return files, total


@dataclass
class ExternalS3:
    """An S3-compatible store the bench does not start (BENCH_S3_ENDPOINT), e.g. a
    gateway on another machine. Keys and region come from AWS_ACCESS_KEY_ID /
    AWS_SECRET_ACCESS_KEY / AWS_DEFAULT_REGION."""

    endpoint_url: str
    region: str

    @classmethod
    def from_env(cls) -> ExternalS3 | None:
        endpoint = os.environ.get("BENCH_S3_ENDPOINT")
        if not endpoint:
            return None
        return cls(endpoint, os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))

    @property
    def access_key(self) -> str:
        return os.environ.get("AWS_ACCESS_KEY_ID", "")

    @property
    def secret_key(self) -> str:
        return os.environ.get("AWS_SECRET_ACCESS_KEY", "")

    def env(self) -> dict[str, str]:
        return {k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
                if k in os.environ}

    def create_bucket(self, name: str) -> str:
        client = make_client(endpoint_url=self.endpoint_url, region=self.region)
        try:
            client.create_bucket(Bucket=name)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        return name

    def stop(self) -> None:
        return None


Store = S3Server | ExternalS3 | SeaweedS3


def start_store(tmp: Path) -> tuple[Store, str]:
    """The store and its name for the report."""
    external = ExternalS3.from_env()
    if external is not None:
        return external, f"external S3 at {external.endpoint_url}"
    if os.environ.get("BENCH_S3", "seaweedfs") == "moto":
        return S3Server(workdir=tmp / "s3").start(), "moto (Python, local)"
    return SeaweedS3(workdir=tmp / "seaweedfs").start(), "SeaweedFS (Go, local)"


def target(store: Store, bucket: str) -> S3Target:
    return S3Target(store.endpoint_url, store.region, store.access_key, store.secret_key,
                    bucket)
