"""Our contender: the worker as a process (`tenant-exit worker backup`), measured,
and its pipeline in-process into a null sink (BENCH_NO_UPLOAD=1)."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.localcluster.mariadb import MariaDBServer

from bench.measure import Measured, run_measured
from bench.stack import Store
from tenant_exit.worker.pipeline import Producer, stream_object
from tenant_exit.worker.progress import ProgressLog
from tenant_exit.worker.settings import WorkerSettings

KNOBS = ("ZSTD_LEVEL", "ZSTD_THREADS", "PART_SIZE_MIB", "UPLOAD_CONCURRENCY")


def zstd_level() -> int:
    default = WorkerSettings.model_fields["zstd_level"].default
    return int(os.environ.get("BENCH_ZSTD_LEVEL", default))


def worker_run(db: MariaDBServer, s3: Store, bucket: str, attempt: int, *,
               databases: list[str], documents: list[dict[str, Any]], recipient: str,
               termination: Path, extra: dict[str, str] | None = None,
               ) -> tuple[Measured, list[dict[str, Any]]]:
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
    env.update(extra or {})
    for knob in KNOBS:
        if f"BENCH_{knob}" in os.environ:
            env[f"TENANT_EXIT_{knob}"] = os.environ[f"BENCH_{knob}"]
    measured, stderr = run_measured(
        [sys.executable, "-m", "tenant_exit.cli", "worker", "backup"], env=env)
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return measured, events


def phase_seconds(events: list[dict[str, Any]], prefix: str) -> float:
    """Seconds from the worker's start event until the last `prefix` object is stored
    and the row counts (which run beside the dump) are done."""
    start = datetime.fromisoformat(next(e["time"] for e in events if e["event"] == "start"))
    end = max(datetime.fromisoformat(e["time"]) for e in events
              if (e["event"] == "object-done" and e["object"].startswith(prefix))
              or e["event"] == "counted")
    return (end - start).total_seconds()


def objects(events: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == "object-done" and e["object"].startswith(prefix)]


def object_seconds(events: list[dict[str, Any]], prefix: str) -> float:
    return sum(float(e["seconds"]) for e in objects(events, prefix))


class _NullSink:
    def write(self, data: bytes) -> None:
        return None


def without_upload(producer: Producer, recipient: str) -> float:
    """Our pipeline (producer -> zstd -> age, both digests) into a null sink: isolates
    the cost of the S3 server running on the same two cores."""
    started = time.monotonic()
    stream_object(producer, _NullSink(), zstd_level=zstd_level(), recipients=[recipient],
                  log=ProgressLog(open(os.devnull, "w"), interval=3600))
    return time.monotonic() - started
