"""`make bench`: the backup worker against the tools users would pick instead.

On a seeded care-record database (~1 GB of SQL by default) and a documents tree
(~20k files), every contender runs against the same database, the same tree and
the same S3 server (SeaweedFS by default), interleaved, each run BENCH_RUNS times
(best counts; the first run also warms caches):

  bare tools  mariadb-dump <same flags> schema > /dev/null;
              tar -cf - dir | cat | zstd -1 > /dev/null (cat: GNU tar skips reading
              files when its output is /dev/null)
  ours        tenant-exit worker backup (the whole process: inventory, exact row
              counts and dictionary included), database only, then documents only
  restic      `mysqldump | restic backup --stdin`, `restic backup <dir>` (bench/peers.py)
  rclone      `mysqldump | zstd -1 | age -r R | rclone rcat`, and with `tar -cf - dir`
  awscli      the same pipelines ending in `aws s3 cp - s3://...`
  kopia and s5cmd are not measured: the Go module proxy this project can reach
  refuses both (403), see bench/peers.py.

Then the irreducible stage costs on the same bytes, best of BENCH_RUNS each
(bench/floor.py: zstd at our level, age on the compressed bytes, SHA-256 of
plaintext and ciphertext), and once the S3 server's ceiling (rclone uploading a
file of the same stored byte count).

For each contender: wall seconds, CPU-seconds (user+sys) of its own process tree
without the DB and S3 servers (bench/measure.py), MB/s of plaintext and the peak
RSS of its largest process. Last, the goals as `name=value` lines:
db_vs_best_peer, docs_vs_best_peer (our process wall / the fastest peer's),
db_cpu_vs_floor, docs_cpu_vs_floor (our worker's CPU / stage costs + mysqldump's or
tar's own CPU), db_pipeline_ratio and docs_pipeline_ratio (our object time / the
bare tool's, kept for continuity), worker_peak_rss_mib_1x (and the documents
worker's at 1x and 10x the files with BENCH_RSS_10X=1).

Knobs (env): BENCH_DB_CLIENTS (default 85000, about 1.5 GB of SQL), BENCH_FILES
(default 20000), BENCH_FILE_MAX_BYTES (default 512 KiB; sizes are log-uniform),
BENCH_RUNS (default 2), BENCH_ZSTD_LEVEL / BENCH_PART_SIZE_MIB /
BENCH_UPLOAD_CONCURRENCY (passed to the worker's TENANT_EXIT_* settings),
BENCH_WORKDIR (default: the harness cache; the seeded datadir and tree are
reused across runs of the same size), BENCH_RESEED=1, BENCH_S3=moto (the tests'
moto server instead of SeaweedFS), BENCH_S3_ENDPOINT (an external S3-compatible
store; keys from AWS_* env), BENCH_PEERS=0 (ours and the bare tools only),
BENCH_NO_UPLOAD=1 (also our pipelines in-process into a null sink),
BENCH_RSS_10X=1 (the documents worker's peak RSS on a tree of 10x the files, written
without a database; =all also seeds 10x the whole tenant and runs both).
Quick run: BENCH_DB_CLIENTS=3000 BENCH_FILES=2000 make bench.

restore_required_vs_without: wall time of the database backup with restore
verification Required (the dump teed into a scratch MariaDB started as the Job's
sidecar runs it, then every table compared) over the same backup without it.

Measured at the full size, one `make bench` (2 runs, best of each), 2 cores, no
other work on the machine: 1482 MB of SQL -> 657 MB stored, 914 MB of documents
(23,000 files) -> 764 MB, SeaweedFS (the store alone ingests ~110-145 MB/s here).

  database   ours 10.58 s / 11.04 CPU-s; aws 10.45 s / 10.76; rclone 11.66 s / 12.41;
             restic 21.16 s / 28.42; db_vs_best_peer=1.01, db_cpu_vs_floor=1.10
  documents  ours 8.19 s / 7.78 CPU-s; aws 7.29 s / 6.00; rclone 8.23 s / 8.28;
             restic 10.59 s / 11.23; docs_vs_best_peer=1.12, docs_cpu_vs_floor=1.21
  restore    restore_required_vs_without=4.93, restore_required_cpu_floor=3.40
  RSS        worker_peak_rss_mib_1x=211 (database, 16 MiB parts); documents 167 MiB
             at 1x and 174 MiB at 10x the files (BENCH_RSS_10X=1)
That run's floor took one age run at best; the floors are best of BENCH_RUNS now.
The peers' own run-to-run spread was up to 30% (aws documents 7.29 and 9.43 s).

What the peers do not do and we must, all in our CPU and none in the floor: the
completeness scan of every dump statement and the exact row counts from the stream
(worker/dump_scan.py), the per-file SHA-256 of the tar read back against the walk
(worker/tar_readback.py), our own walk feeding tar its list, and the worker's
start-up (~0.5 s). Measured alone on the same bytes: the scan 0.94 CPU-s (3.85
before its one-byte searches), the walk ~0.45, the read-back's parsing ~0.5 and
its per-file SHA-256 ~0.6; the peers also skip the two whole-object digests (1.1 +
0.5 s database, 0.7-0.9 + 0.55 s documents). Without those our CPU is below every
peer's (database ~8.5 against aws's 10.8, documents ~4.8 against 6.0); each extra
CPU-second costs ~0.5 s of wall on 2 cores shared with the store, which is what
keeps the *_vs_best_peer ratios above 1.0.

restore_required_vs_without on 2 cores cannot reach the 1.5 goal:
restore_required_cpu_floor is the least ratio the machine's CPUs allow with every
process's CPU spread perfectly over them. The scratch server alone used 76.2 CPU-s
for 1.48 GB (51.4 per GB), more than 3x the whole backup's wall; with restore every
process used 142.4 CPU-s, i.e. at least 71 s on 2 CPUs against 20.8 s without
(3.42). The remaining gap to 5.02 is the load's own serial order: the plain
client and the server take turns on one connection (the client parses a
statement, the server executes it, then the next). Scratch server settings did not
help (kube/jobs.py, SCRATCH_SERVER_OPTIONS). On 8 free cores the same CPU would
allow 0.86, so the goal needs more cores and a loader that spreads one schema over
several connections (tried on 2 cores: within the noise). (Those figures are from
the previous machine: scratch server 51.4 CPU-s per GB there, 23.8 here.)
"""


from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyrage
from tests.localcluster.mariadb import MariaDBServer
from tests.support.scratch import scratch_process

from bench.floor import StageCosts, stage_costs, write_output
from bench.measure import Measured, best, run_measured, session_cpu_seconds
from bench.ours import (
    object_seconds,
    objects,
    phase_seconds,
    without_upload,
    worker_run,
    zstd_level,
)
from bench.peers import Peers, random_file
from bench.stack import (
    SCHEMA,
    Store,
    seed,
    seed_documents_tree,
    start_store,
    target,
    tree_bytes,
)
from tenant_exit.worker.clients import probe
from tenant_exit.worker.documents import TarProducer
from tenant_exit.worker.dump import DumpProducer, dump_argv
from tenant_exit.worker.progress import ProgressLog
from tenant_exit.worker.settings import DocumentSource

DB_PEERS = ("restic", "rclone", "aws")


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _mb(n: int) -> float:
    return n / 1e6


class Bench:
    """One interleaved run of every contender; keeps every measurement by name."""

    def __init__(self, db: MariaDBServer, docs: Path, s3: Store, bucket: str, tmp: Path,
                 peers: Peers | None) -> None:
        self.db, self.docs, self.s3, self.bucket, self.tmp = db, docs, s3, bucket, tmp
        self.peers = peers
        self.runs: dict[str, list[Measured]] = defaultdict(list)
        self.seconds: dict[str, list[float]] = defaultdict(list)
        # CPU-seconds of the servers during each of our runs (source database and
        # S3 server; with restore the scratch server too): outside any wait4.
        self.server_cpu: dict[str, list[float]] = defaultdict(list)
        self.scratch_cpu: list[float] = []
        self.recipient = str(pyrage.x25519.Identity.generate().to_public())
        # The bench server is MariaDB: its own family's dump client, as the worker picks.
        client = probe(db.dump_tool)
        self.dump = dump_argv(client, host=db.host, port=db.port, user=db.root_user,
                              schema=SCHEMA, ignore_tables=[])
        self.dump_env = dict(os.environ, MYSQL_PWD=db.root_password)
        self.tar = ["tar", "-cf", "-", "-C", str(docs), "."]
        self.attempt = 0
        self.dump_bytes = self.stored_db = self.stored_docs = 0
        self.peer_env = peers.env(self.dump_env) if peers else {}

    def measure(self, name: str, argv: list[str], **kwargs: Any) -> Measured:
        measured, _ = run_measured(argv, **kwargs)
        self.runs[name].append(measured)
        return measured

    def ours(self, name: str, **kwargs: Any) -> tuple[Measured, list[dict[str, Any]]]:
        self.attempt += 1
        servers = (self.db.pid, getattr(self.s3, "pid", None))
        before = sum(session_cpu_seconds(pid) for pid in servers)
        measured, events = worker_run(self.db, self.s3, self.bucket, self.attempt,
                                      recipient=self.recipient,
                                      termination=self.tmp / "termination", **kwargs)
        self.server_cpu[name].append(sum(session_cpu_seconds(pid) for pid in servers) - before)
        self.runs[name].append(measured)
        return measured, events

    def one_run(self, n: int) -> None:
        with open(os.devnull, "wb") as devnull:
            m = self.measure("mysqldump > /dev/null", self.dump, env=self.dump_env,
                             stdout=devnull)
        print(f"  mysqldump > /dev/null      {m.line(self.dump_bytes or 1)}", flush=True)
        m, events = self.ours("ours database", databases=[SCHEMA], documents=[])
        done = objects(events, "database-")
        self.dump_bytes = sum(int(e["plaintextBytes"]) for e in done)
        self.stored_db = sum(int(e["storedBytes"]) for e in done)
        self.seconds["ours database object"].append(object_seconds(events, "database-"))
        self.seconds["ours database phase"].append(phase_seconds(events, "database-"))
        print(f"  ours database              {m.line(self.dump_bytes)} "
              f"(object {self.seconds['ours database object'][-1]:.2f} s)", flush=True)
        self._restore_required()
        if self.peers:
            self._peers_db(n)

        m = self.measure("tar | cat | zstd > /dev/null", [
            "bash", "-c", 'set -o pipefail; tar -cf - -C "$1" . | cat | zstd -1 -q > /dev/null',
            "tar-baseline", str(self.docs)])
        print(f"  tar | cat | zstd -1        {m.line(self.doc_bytes)}", flush=True)
        m = self.measure("tar | cat > /dev/null", [
            "bash", "-c", 'set -o pipefail; tar -cf - -C "$1" . | cat > /dev/null',
            "tar-only", str(self.docs)])
        m, events = self.ours("ours documents", databases=["bench_empty"],
                              documents=[{"name": "docs", "path": str(self.docs)}])
        self.stored_docs = sum(int(e["storedBytes"])
                               for e in objects(events, "documents-"))
        self.seconds["ours documents object"].append(object_seconds(events, "documents-"))
        print(f"  ours documents             {m.line(self.doc_bytes)} "
              f"(object {self.seconds['ours documents object'][-1]:.2f} s)", flush=True)
        if self.peers:
            self._peers_docs(n)
        if os.environ.get("BENCH_NO_UPLOAD") == "1":
            self.seconds["ours database, no upload"].append(without_upload(
                DumpProducer(self.dump, self.db.root_password, SCHEMA), self.recipient))
            self.seconds["ours documents, no upload"].append(without_upload(
                TarProducer(DocumentSource(name="docs", path=self.docs),
                            ProgressLog(open(os.devnull, "w"))), self.recipient))

    def _restore_required(self) -> None:
        """The same database backup with restore: Required, its scratch server as
        the Job's sidecar runs it (issue 13): the load runs beside the dump."""
        scratch_dir = self.tmp / f"scratch-{self.attempt}"
        with scratch_process("mariadb", scratch_dir) as scratch:
            socket, loaded = scratch.socket, session_cpu_seconds(scratch.pid)
            m, events = self.ours(
                "ours database, restore Required", databases=[SCHEMA], documents=[],
                extra={"TENANT_EXIT_RESTORE_MODE": "Required",
                       "TENANT_EXIT_RESTORE_SOCKET": str(socket),
                       "TENANT_EXIT_RESTORE_IMAGE": "mariadb (local)",
                       "TENANT_EXIT_RESTORE_MAX_DATA_BYTES": str(1 << 40)})
            self.scratch_cpu.append(session_cpu_seconds(scratch.pid) - loaded)
        shutil.rmtree(scratch_dir, ignore_errors=True)
        restore = next((e for e in events if e["event"] == "restore"), {})
        if restore.get("status") != "Verified":
            raise RuntimeError(f"the restore-verified backup did not verify: {events[-1:]}")
        print(f"  ours database, restore Req {m.line(self.dump_bytes)} "
              f"(compare {restore.get('seconds')} s; scratch server "
              f"{self.scratch_cpu[-1]:.2f} s CPU)", flush=True)

    def _peers_db(self, n: int) -> None:
        assert self.peers is not None
        repo = f"db-{n}"
        self.peers.restic_init(repo, self.peer_env)
        m = self.measure("restic database", self.peers.restic_backup(repo, self.dump, stdin=True),
                         env=self.peer_env)
        print(f"  restic database            {m.line(self.dump_bytes)}", flush=True)
        for uploader in ("rclone", "aws"):
            m = self.measure(f"{uploader} database", self.peers.shell_pipeline(
                self.dump, uploader, f"{uploader}/db-{n}.sql.zst.age", level=zstd_level(),
                recipient=self.recipient), env=self.peer_env)
            print(f"  {uploader + ' database':26s} {m.line(self.dump_bytes)}", flush=True)

    def _peers_docs(self, n: int) -> None:
        assert self.peers is not None
        repo = f"docs-{n}"
        self.peers.restic_init(repo, self.peer_env)
        m = self.measure("restic documents",
                         self.peers.restic_backup(repo, [str(self.docs)], stdin=False),
                         env=self.peer_env)
        print(f"  restic documents           {m.line(self.doc_bytes)}", flush=True)
        for uploader in ("rclone", "aws"):
            m = self.measure(f"{uploader} documents", self.peers.shell_pipeline(
                self.tar, uploader, f"{uploader}/docs-{n}.tar.zst.age", level=zstd_level(),
                recipient=self.recipient), env=self.peer_env)
            print(f"  {uploader + ' documents':26s} {m.line(self.doc_bytes)}", flush=True)

    doc_bytes = 0

    def floors(self, repeats: int) -> tuple[StageCosts, StageCosts]:
        plain_db = write_output(self.dump, self.tmp / "dump.sql", env=self.dump_env)
        db_costs = stage_costs(plain_db, level=zstd_level(), recipient=self.recipient,
                               repeats=repeats)
        plain_db.unlink()
        plain_docs = write_output(self.tar, self.tmp / "docs.tar")
        docs_costs = stage_costs(plain_docs, level=zstd_level(), recipient=self.recipient,
                                 repeats=repeats)
        plain_docs.unlink()
        return db_costs, docs_costs

    def ceiling(self, key: str, size: int) -> Measured | None:
        if not self.peers:
            return None
        blob = random_file(self.tmp / "ceiling.bin", size)
        try:
            measured, _ = run_measured(self.peers.upload_file(blob, key), env=self.peer_env)
        finally:
            blob.unlink()
        return measured


def _report_restore(bench: Bench, b: dict[str, Measured]) -> None:
    """The restore ratio, and the least one this machine allows: with every process's
    CPU (worker, source database, S3 server, scratch server) spread perfectly over all
    CPUs, the backup with restore takes at least that CPU / the CPU count."""
    without, with_ = b["ours database"], b["ours database, restore Required"]
    label = "ours database, restore Required"
    scratch = min(bench.scratch_cpu)
    total = with_.cpu + min(bench.server_cpu[label]) + scratch
    cpus = os.cpu_count() or 1
    print(f"restore load: the scratch server used {scratch:.2f} CPU-s "
          f"({scratch / (bench.dump_bytes / 1e9):.1f} per GB of SQL); with restore every "
          f"process used {total:.2f} CPU-s, without {without.cpu:.2f} + "
          f"{min(bench.server_cpu['ours database']):.2f} (servers)")
    print(f"restore_required_vs_without={with_.wall / without.wall:.2f}")
    print(f"# restore_required_cpu_floor: the least ratio {cpus} CPUs allow "
          f"({total:.1f} CPU-s / {cpus} / {without.wall:.1f} s)")
    print(f"restore_required_cpu_floor={total / cpus / without.wall:.2f}")


def _print_costs(label: str, costs: StageCosts) -> None:
    for stage, m, size in (("zstd", costs.zstd, costs.plaintext_bytes),
                           ("age", costs.age, costs.compressed_bytes),
                           ("sha256 plaintext", costs.sha_plain, costs.plaintext_bytes),
                           ("sha256 ciphertext", costs.sha_cipher, costs.compressed_bytes)):
        print(f"  {label} {stage:18s} {m.line(size)}")


def main() -> int:
    clients = _env_int("BENCH_DB_CLIENTS", 85000)
    files = _env_int("BENCH_FILES", 20000)
    max_bytes = _env_int("BENCH_FILE_MAX_BYTES", 512 * 1024)
    runs = max(1, _env_int("BENCH_RUNS", 2))
    cache = Path(os.environ.get("TENANT_EXIT_CACHE", Path.home() / ".cache" / "tenant-exit"))
    workdir = Path(os.environ.get("BENCH_WORKDIR", cache / "bench"))
    db, docs = seed(workdir, clients, files, max_bytes)
    tmp = Path(tempfile.mkdtemp(prefix="tenant-exit-bench-"))
    s3, store_name = start_store(tmp)
    try:
        bucket = s3.create_bucket("bench")
        peers = (Peers.build(target(s3, bucket), tmp / "peers")
                 if os.environ.get("BENCH_PEERS", "1") != "0" else None)
        bench = Bench(db, docs, s3, bucket, tmp, peers)
        doc_files, bench.doc_bytes = tree_bytes(docs)
        print(f"database: schema {SCHEMA}, {clients} clients; documents: {doc_files} files, "
              f"{_mb(bench.doc_bytes):.0f} MB; store: {store_name}; {os.cpu_count()} CPUs; "
              f"runs: {runs}; zstd level {zstd_level()}", flush=True)
        for n in range(runs):
            print(f"run {n + 1}/{runs}", flush=True)
            bench.one_run(n)
        db_costs, docs_costs = bench.floors(runs)
        ceiling_db = bench.ceiling("ceiling/db", bench.stored_db)
        ceiling_docs = bench.ceiling("ceiling/docs", bench.stored_docs)
        rss_10x = _rss_10x(bench, workdir, clients, files, max_bytes)
        _report(bench, db_costs, docs_costs, ceiling_db, ceiling_docs, rss_10x)
    finally:
        s3.stop()
        db.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


@dataclass(frozen=True)
class Rss10x:
    """The worker's peak RSS (KiB) at 10x: documents alone on 10x the files, and
    with BENCH_RSS_10X=all also database and documents on 10x the seeded tenant."""

    documents_1x: int
    documents_10x: int
    all_10x: int | None


def _rss_10x(bench: Bench, workdir: Path, clients: int, files: int,
             max_bytes: int) -> Rss10x | None:
    mode = os.environ.get("BENCH_RSS_10X", "")
    if mode not in ("1", "all"):
        return None
    # The documents worker's memory grows with the file count if anything does (the
    # read-back's walk ledger); 10x the files is 10x the documents data.
    tree = seed_documents_tree(workdir, files * 10, max_bytes)
    documents, _ = worker_run(bench.db, bench.s3, bench.bucket, 1000,
                              databases=["bench_empty"],
                              documents=[{"name": "docs", "path": str(tree)}],
                              recipient=bench.recipient,
                              termination=bench.tmp / "termination-10x-docs")
    print(f"  ours documents 10x         {documents.line(tree_bytes(tree)[1])}", flush=True)
    everything = None
    if mode == "all":
        db, docs = seed(workdir, clients * 10, files * 10, max_bytes)
        try:
            everything, _ = worker_run(
                db, bench.s3, bench.bucket, 1001, databases=[SCHEMA],
                documents=[{"name": "docs", "path": str(docs)}],
                recipient=bench.recipient, termination=bench.tmp / "termination-10x")
        finally:
            db.stop()
    return Rss10x(best(bench.runs["ours documents"]).peak_rss_kib, documents.peak_rss_kib,
                  everything.peak_rss_kib if everything else None)


def _report(bench: Bench, db_costs: StageCosts, docs_costs: StageCosts,
            ceiling_db: Measured | None, ceiling_docs: Measured | None,
            rss_10x: Rss10x | None) -> None:
    b = {name: best(runs) for name, runs in bench.runs.items()}
    s = {name: min(values) for name, values in bench.seconds.items()}
    print()
    print(f"SQL dump: {_mb(bench.dump_bytes):.0f} MB plaintext -> {_mb(bench.stored_db):.0f} MB "
          f"stored; documents: {_mb(bench.doc_bytes):.0f} MB -> "
          f"{_mb(bench.stored_docs):.0f} MB stored (best of runs; MB/s of plaintext; CPU "
          "of the contender's own process tree; RSS of its largest process)")
    for name, m in b.items():
        size = bench.dump_bytes if ("database" in name or "mysqldump" in name) else bench.doc_bytes
        print(f"  {name:30s} {m.line(size)}")
    for name, seconds in s.items():
        size = bench.dump_bytes if "database" in name else bench.doc_bytes
        print(f"  {name:30s} {seconds:7.2f} s wall {_mb(size) / seconds:30.1f} MB/s")
    print("irreducible stage costs, each alone on the same bytes:")
    _print_costs("database ", db_costs)
    _print_costs("documents", docs_costs)
    for label, ceiling, size in (("database", ceiling_db, bench.stored_db),
                                 ("documents", ceiling_docs, bench.stored_docs)):
        if ceiling is not None:
            print(f"  S3 ceiling: rclone uploads {_mb(size):.0f} MB ({label} stored size) "
                  f"{ceiling.line(size)}")
    db_floor = db_costs.cpu + b["mysqldump > /dev/null"].cpu
    docs_floor = docs_costs.cpu + b["tar | cat > /dev/null"].cpu
    print(f"CPU floor: database {db_floor:.2f} s (mysqldump "
          f"{b['mysqldump > /dev/null'].cpu:.2f} + stages {db_costs.cpu:.2f}); documents "
          f"{docs_floor:.2f} s (tar|cat {b['tar | cat > /dev/null'].cpu:.2f} + stages "
          f"{docs_costs.cpu:.2f})")
    print()
    if bench.peers:
        for kind in ("database", "documents"):
            peer, m = min(((p, b[f"{p} {kind}"]) for p in DB_PEERS), key=lambda pm: pm[1].wall)
            print(f"best {kind} peer: {peer} ({m.wall:.2f} s)")
            short = "db" if kind == "database" else "docs"
            print(f"{short}_vs_best_peer={b[f'ours {kind}'].wall / m.wall:.2f}")
    _report_restore(bench, b)
    print(f"db_cpu_vs_floor={b['ours database'].cpu / db_floor:.2f}")
    print(f"docs_cpu_vs_floor={b['ours documents'].cpu / docs_floor:.2f}")
    print(f"db_pipeline_ratio={s['ours database object'] / b['mysqldump > /dev/null'].wall:.2f}")
    print(f"docs_pipeline_ratio="
          f"{s['ours documents object'] / b['tar | cat | zstd > /dev/null'].wall:.2f}")
    rss_1x = max(b["ours database"].peak_rss_kib, b["ours documents"].peak_rss_kib)
    print(f"worker_peak_rss_mib_1x={rss_1x / 1024:.0f}")
    if rss_10x is None:
        print("# worker_peak_rss_mib_docs_10x not measured (BENCH_RSS_10X=1 writes 10x the "
              "files; BENCH_RSS_10X=all also seeds 10x the database)")
        return
    print(f"worker_peak_rss_mib_docs_1x={rss_10x.documents_1x / 1024:.0f}")
    print(f"worker_peak_rss_mib_docs_10x={rss_10x.documents_10x / 1024:.0f}")
    if rss_10x.all_10x is not None:
        print(f"worker_peak_rss_mib_10x={rss_10x.all_10x / 1024:.0f}")


if __name__ == "__main__":
    raise SystemExit(main())
