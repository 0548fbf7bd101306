"""`make bench`: the backup worker's pipelines against the tools they wrap.

On a seeded care-record database (~1 GB of SQL by default) and a documents tree
(~20k files), measured one after the other in one process tree, each run twice
(best time counts, the first run also warms caches):

  raw_dump    mariadb-dump <same flags> schema > /dev/null
  ours_db     tenant-exit worker backup, database only -> local S3 server; the
              database object's time (dump -> zstd -> age -> multipart upload
              until the store confirmed the object) and the whole database
              phase (plus inventory and the exact row counts beside it)
  raw_docs    tar -cf - dir | cat | zstd -1 > /dev/null   (cat: GNU tar skips
              reading files when its output is /dev/null)
  ours_docs   tenant-exit worker backup, the documents object -> local S3 server
  no upload   our pipelines in-process into a null sink: what the S3 server
              (moto, Python, on the same cores) costs

Prints times, MB/s, the worker's peak RSS and, as the last two lines,
`db_pipeline_ratio=<ours/raw>` and `docs_pipeline_ratio=<ours/tar|zstd>`
(both on the object times).

Knobs (env): BENCH_DB_CLIENTS (default 85000, about 1 GB of SQL), BENCH_FILES
(default 20000), BENCH_FILE_MAX_BYTES (default 512 KiB; sizes are log-uniform),
BENCH_RUNS (default 2), BENCH_ZSTD_LEVEL / BENCH_PART_SIZE_MIB /
BENCH_UPLOAD_CONCURRENCY (passed to the worker's TENANT_EXIT_* settings),
BENCH_WORKDIR (default: the harness cache; the seeded datadir and tree are
reused across runs of the same size), BENCH_RESEED=1, BENCH_S3_ENDPOINT (an
S3-compatible store to use instead of a local moto server; keys from AWS_* env),
BENCH_S3=seaweedfs (a local SeaweedFS S3 gateway, built by bench/build-seaweedfs.sh).
Quick run: BENCH_DB_CLIENTS=3000 BENCH_FILES=2000 make bench.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyrage
from tests.localcluster.mariadb import MariaDBServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import seed_tenant

from bench.seaweedfs import SeaweedS3
from tenant_exit.storage.s3client import make_client
from tenant_exit.worker.documents import TarProducer
from tenant_exit.worker.dump import DumpProducer, client_flavour, dump_argv, dump_binary
from tenant_exit.worker.pipeline import Producer, stream_object
from tenant_exit.worker.processes import tool_version
from tenant_exit.worker.progress import ProgressLog
from tenant_exit.worker.settings import DocumentSource, WorkerSettings

REPO = Path(__file__).resolve().parents[1]
SCHEMA = "bench_zorg"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass
class Measured:
    seconds: float
    peak_rss_kib: int = 0


def _peak_rss(pid: int) -> int:
    """VmHWM of a live process in KiB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def run_measured(argv: list[str], *, env: dict[str, str] | None = None,
                 stdout: Any = subprocess.DEVNULL
                 ) -> tuple[Measured, subprocess.CompletedProcess[str]]:
    """Wall time of a command and the peak RSS of its top process, sampled."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True,
                            cwd=REPO)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.1):
            peak = max(peak, _peak_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    stop.set()
    sampler.join()
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"bench step failed ({proc.returncode}): {argv!r}\n{err[-3000:]}")
    return Measured(seconds, peak), subprocess.CompletedProcess(argv, 0, out, err)


def seed(workdir: Path, clients: int, files: int, max_bytes: int) -> tuple[MariaDBServer, Path]:
    """Start (and seed once per size) the bench database and documents tree."""
    tag = f"{clients}c-{files}f-{max_bytes}b"
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
    SeaweedFS or Ceph gateway on another machine: moto, the default, is Python on the
    same cores as the pipeline and dominates the figures on a small machine.
    Keys and region come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
    AWS_DEFAULT_REGION."""

    endpoint_url: str
    region: str

    @classmethod
    def from_env(cls) -> ExternalS3 | None:
        endpoint = os.environ.get("BENCH_S3_ENDPOINT")
        if not endpoint:
            return None
        return cls(endpoint, os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))

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


def _store(tmp: Path) -> Store:
    """BENCH_S3_ENDPOINT: an external store; BENCH_S3=seaweedfs: a local SeaweedFS;
    otherwise the tests' moto server."""
    external = ExternalS3.from_env()
    if external is not None:
        return external
    if os.environ.get("BENCH_S3") == "seaweedfs":
        return SeaweedS3(workdir=tmp / "seaweedfs").start()
    return S3Server(workdir=tmp / "s3").start()


def worker_run(db: MariaDBServer, s3: Store, bucket: str, attempt: int, *,
               databases: list[str], documents: list[dict[str, Any]],
               termination: Path) -> tuple[Measured, list[dict[str, Any]]]:
    recipient = str(pyrage.x25519.Identity.generate().to_public())
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANT_EXIT_")}
    env.update(s3.env())
    env.update({
        "TENANT_EXIT_EXIT_NAME": "bench", "TENANT_EXIT_ATTEMPT": str(attempt),
        "TENANT_EXIT_DB_HOST": db.host, "TENANT_EXIT_DB_PORT": str(db.port),
        "TENANT_EXIT_DB_USER": db.root_user, "TENANT_EXIT_DB_PASSWORD": db.root_password,
        "TENANT_EXIT_DB_DATABASES": json.dumps(databases),
        "TENANT_EXIT_DOCUMENTS": json.dumps(documents),
        "TENANT_EXIT_S3_BUCKET": bucket, "TENANT_EXIT_S3_ENDPOINT": s3.endpoint_url,
        "TENANT_EXIT_S3_REGION": s3.region,
        "TENANT_EXIT_AGE_RECIPIENTS": json.dumps([recipient]),
        "TENANT_EXIT_TERMINATION_LOG": str(termination),
    })
    for knob in ("ZSTD_LEVEL", "PART_SIZE_MIB", "UPLOAD_CONCURRENCY"):
        if f"BENCH_{knob}" in os.environ:
            env[f"TENANT_EXIT_{knob}"] = os.environ[f"BENCH_{knob}"]
    measured, done = run_measured([sys.executable, "-m", "tenant_exit.cli", "worker", "backup"],
                                  env=env)
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    return measured, events


def _phase_seconds(events: list[dict[str, Any]], prefix: str) -> float:
    """Seconds from the worker's start event until the last `prefix` object is stored
    and the row counts (which run beside the dump) are done."""
    from datetime import datetime

    start = datetime.fromisoformat(next(e["time"] for e in events if e["event"] == "start"))
    end = max(datetime.fromisoformat(e["time"]) for e in events
              if (e["event"] == "object-done" and e["object"].startswith(prefix))
              or e["event"] == "counted")
    return (end - start).total_seconds()


def _object_seconds(events: list[dict[str, Any]], prefix: str) -> float:
    return sum(float(e["seconds"]) for e in events
               if e["event"] == "object-done" and e["object"].startswith(prefix))


class _NullSink:
    def write(self, data: bytes) -> None:
        return None


def without_upload(producer: Producer, recipient: str) -> float:
    """Our pipeline (producer -> zstd -> age, both digests) into a null sink: isolates
    the cost of the S3 server running on the same two cores."""
    default_level = WorkerSettings.model_fields["zstd_level"].default
    level = int(os.environ.get("BENCH_ZSTD_LEVEL", default_level))
    started = time.monotonic()
    stream_object(producer, _NullSink(), zstd_level=level, recipients=[recipient],
                  log=ProgressLog(open(os.devnull, "w"), interval=3600))
    return time.monotonic() - started


def _mb(n: int) -> float:
    return n / 1e6


def main() -> int:
    clients = _env_int("BENCH_DB_CLIENTS", 85000)
    files = _env_int("BENCH_FILES", 20000)
    max_bytes = _env_int("BENCH_FILE_MAX_BYTES", 512 * 1024)
    runs = max(1, _env_int("BENCH_RUNS", 2))
    cache = Path(os.environ.get("TENANT_EXIT_CACHE", Path.home() / ".cache" / "tenant-exit"))
    workdir = Path(os.environ.get("BENCH_WORKDIR", cache / "bench"))
    db, docs = seed(workdir, clients, files, max_bytes)
    tmp = Path(tempfile.mkdtemp(prefix="tenant-exit-bench-"))
    s3 = _store(tmp)
    try:
        bucket = s3.create_bucket("bench")
        binary = dump_binary()
        flavour = client_flavour(tool_version([binary, "--version"]))
        raw_argv = dump_argv(binary, flavour, host=db.host, port=db.port, user=db.root_user,
                             schema=SCHEMA, ignore_tables=[])
        raw_env = dict(os.environ, MYSQL_PWD=db.root_password)
        doc_files, doc_bytes = tree_bytes(docs)
        print(f"database: schema {SCHEMA}, {clients} clients; documents: {doc_files} files, "
              f"{_mb(doc_bytes):.0f} MB; {os.cpu_count()} CPUs; runs: {runs}", flush=True)

        recipient = str(pyrage.x25519.Identity.generate().to_public())
        null_db: list[float] = []
        null_docs: list[float] = []
        raw_db: list[float] = []
        ours_db: list[float] = []
        ours_db_stream: list[float] = []
        raw_tar: list[float] = []
        ours_docs: list[float] = []
        rss_db = rss_docs = 0
        dump_bytes = stored_db = stored_docs = 0
        attempt = 0
        for _ in range(runs):
            with open(os.devnull, "wb") as devnull:
                measured, _ = run_measured(raw_argv, env=raw_env, stdout=devnull)
            raw_db.append(measured.seconds)
            print(f"  raw mysqldump > /dev/null        {measured.seconds:7.1f} s", flush=True)

            attempt += 1
            measured, events = worker_run(db, s3, bucket, attempt, databases=[SCHEMA],
                                          documents=[], termination=tmp / "termination")
            done = [e for e in events if e["event"] == "object-done"
                    and e["object"].startswith("database-")]
            dump_bytes = sum(int(e["plaintextBytes"]) for e in done)
            stored_db = sum(int(e["storedBytes"]) for e in done)
            ours_db.append(_phase_seconds(events, "database-"))
            ours_db_stream.append(_object_seconds(events, "database-"))
            rss_db = max(rss_db, measured.peak_rss_kib)
            print(f"  ours: database object to S3     {ours_db_stream[-1]:7.1f} s "
                  f"(with inventory+counts {ours_db[-1]:.1f} s, process {measured.seconds:.1f} s, "
                  f"peak RSS {measured.peak_rss_kib / 1024:.0f} MiB)", flush=True)

            measured, _ = run_measured(
                ["bash", "-c", 'set -o pipefail; tar -cf - -C "$1" . | cat | zstd -1 -q '
                 "> /dev/null", "tar-baseline", str(docs)])
            raw_tar.append(measured.seconds)
            print(f"  tar | cat | zstd -1 > /dev/null  {measured.seconds:7.1f} s", flush=True)

            null_db.append(without_upload(DumpProducer(raw_argv, db.root_password, SCHEMA),
                                          recipient))
            print(f"  ours: dump stream, no upload     {null_db[-1]:7.1f} s", flush=True)
            null_docs.append(without_upload(
                TarProducer(DocumentSource(name="docs", path=docs),
                            ProgressLog(open(os.devnull, "w"))),
                recipient))
            print(f"  ours: documents, no upload       {null_docs[-1]:7.1f} s", flush=True)

            attempt += 1
            measured, events = worker_run(
                db, s3, bucket, attempt, databases=["bench_empty"],
                documents=[{"name": "docs", "path": str(docs)}], termination=tmp / "term")
            ours_docs.append(_object_seconds(events, "documents-"))
            stored_docs = sum(int(e["storedBytes"]) for e in events
                              if e["event"] == "object-done"
                              and e["object"].startswith("documents-"))
            rss_docs = max(rss_docs, measured.peak_rss_kib)
            print(f"  ours: documents object           {ours_docs[-1]:7.1f} s "
                  f"(process {measured.seconds:.1f} s, peak RSS "
                  f"{measured.peak_rss_kib / 1024:.0f} MiB)", flush=True)

        best = {name: min(values) for name, values in (
            ("raw_db", raw_db), ("ours_db", ours_db), ("ours_db_stream", ours_db_stream),
            ("raw_tar", raw_tar), ("ours_docs", ours_docs), ("null_db", null_db),
            ("null_docs", null_docs))}
        print()
        print(f"SQL dump: {_mb(dump_bytes):.0f} MB plaintext -> {_mb(stored_db):.0f} MB stored; "
              f"documents: {_mb(doc_bytes):.0f} MB -> {_mb(stored_docs):.0f} MB stored")
        for name, seconds, size in (("raw mysqldump", best["raw_db"], dump_bytes),
                                    ("ours database object", best["ours_db_stream"],
                                     dump_bytes),
                                    ("ours database phase", best["ours_db"], dump_bytes),
                                    ("ours database, no upload", best["null_db"], dump_bytes),
                                    ("tar|cat|zstd -1", best["raw_tar"], doc_bytes),
                                    ("ours documents", best["ours_docs"], doc_bytes),
                                    ("ours documents, no upload", best["null_docs"],
                                     doc_bytes)):
            print(f"{name:26s} {seconds:7.2f} s  {_mb(size) / seconds:7.1f} MB/s")
        print(f"worker peak RSS: database run {rss_db / 1024:.0f} MiB, "
              f"documents run {rss_docs / 1024:.0f} MiB")
        print(f"db_phase_ratio={best['ours_db'] / best['raw_db']:.2f}  "
              "(inventory + exact counts + dump object)")
        print(f"db_no_upload_ratio={best['null_db'] / best['raw_db']:.2f}")
        print(f"docs_no_upload_ratio={best['null_docs'] / best['raw_tar']:.2f}")
        print(f"db_pipeline_ratio={best['ours_db_stream'] / best['raw_db']:.2f}")
        print(f"docs_pipeline_ratio={best['ours_docs'] / best['raw_tar']:.2f}")
    finally:
        s3.stop()
        db.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
