"""One extraction run, inside the Job: validate in the snapshot, then write.

Order, each step only after the previous one succeeded:
1. If the run's folder already has a manifest, the run is done (a Job re-run
   after a crash reports it again instead of writing a second time).
2. Open the consistent read-only snapshot; validate every table against it and
   fingerprint the source columns. Any problem is schema drift: the run stops
   here, having written nothing, and the last complete run stays published.
3. Stream each table into Parquet (and CSV) in the run's folder; pseudonyms and
   transforms applied on the way, identifying columns never read into output.
4. The model description and the drift report.
5. manifest.json, last: a folder without it is incomplete.
6. `latest/`: the description and a copy of the manifest (a pointer to this run).
7. Retention: older runs removed, now that a newer one is complete.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenant_exit.api.datamodel import Classification, Table, Transform, content_hash
from tenant_exit.extraction import layout, modeldocs
from tenant_exit.extraction.drift import compare, fingerprint
from tenant_exit.extraction.parquet import OutputColumn, identity, write_table
from tenant_exit.extraction.pseudonym import Pseudonymiser, birth_year, postcode_area
from tenant_exit.extraction.retention import apply_retention
from tenant_exit.extraction.settings import ExtractionSettings
from tenant_exit.extraction.snapshot import open_snapshot, stream_rows
from tenant_exit.extraction.store import StoredFile, open_object, put_small
from tenant_exit.extraction.validate import check_live
from tenant_exit.worker.progress import ProgressLog

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MANIFEST_VERSION = 1
MAX_SUMMARY_BYTES = 3800


class SchemaDrift(RuntimeError):
    """The source no longer fits the model; nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("schema drift: " + "; ".join(problems))
        self.problems = problems


@dataclass
class RunSummary:
    manifest_key: str
    manifest_sha256: str
    rows: dict[str, int]
    bytes: int
    new_source_columns: list[str] = field(default_factory=list)
    already_complete: bool = False

    def to_json(self) -> str:
        """One line for the termination message (at most 4 KiB kept by Kubernetes):
        rows per table and new columns are left out when they would not fit; the
        manifest always has them."""
        full = {"result": "Succeeded", "manifestKey": self.manifest_key,
                "manifestSha256": self.manifest_sha256, "rows": self.rows,
                "bytes": self.bytes, "newSourceColumns": self.new_source_columns[:50]}
        line = json.dumps(full, separators=(",", ":"))
        if len(line.encode()) <= MAX_SUMMARY_BYTES:
            return line
        short = {**full, "rows": {}, "newSourceColumns": [], "truncated": True}
        return json.dumps(short, separators=(",", ":"))


def output_columns(table: Table, pseudonymiser: Pseudonymiser) -> list[OutputColumn]:
    """The published columns and how each value is mapped; identifying columns
    without a transform are left out here, so their values are never converted,
    buffered or written."""
    columns = []
    for index, column in enumerate(table.columns):
        if not column.published:
            continue
        convert: Callable[[Any], Any] = identity
        if column.classification == Classification.PSEUDONYMISED:
            domain = column.domain or column.name
            convert = _pseudonymise(pseudonymiser, domain)
        elif column.transform == Transform.BIRTH_YEAR:
            convert = birth_year
        elif column.transform == Transform.POSTCODE_AREA:
            convert = postcode_area
        columns.append(OutputColumn(name=column.name, type=column.type,
                                    nullable=column.nullable, source_index=index,
                                    convert=convert))
    return columns


def _pseudonymise(pseudonymiser: Pseudonymiser, domain: str) -> Callable[[Any], Any]:
    return lambda value: pseudonymiser.pseudonym(domain, value)


def read_bytes(client: S3Client, bucket: str, key: str) -> bytes | None:
    try:
        return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def read_json(client: S3Client, bucket: str, key: str) -> Any | None:
    body = read_bytes(client, bucket, key)
    return None if body is None else json.loads(body)


def read_text(client: S3Client, bucket: str, key: str) -> str:
    try:
        return str(client.get_object(Bucket=bucket, Key=key)["Body"].read().decode())
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return ""
        raise


def _file_entry(stored: StoredFile, kind: str, **extra: Any) -> dict[str, Any]:
    entry = {"key": stored.key, "kind": kind, "bytes": stored.bytes, "sha256": stored.sha256}
    if stored.plaintext_sha256 != stored.sha256:
        entry.update(plaintextBytes=stored.plaintext_bytes,
                     plaintextSha256=stored.plaintext_sha256)
    entry.update(extra)
    return entry


def run_extraction(settings: ExtractionSettings, client: S3Client,
                   log: ProgressLog) -> RunSummary:
    started = datetime.now(UTC)
    spec = settings.model
    model_hash = content_hash(spec)
    bucket, prefix = settings.s3_bucket, settings.s3_prefix
    folder = layout.run_folder(prefix, settings.scheduled_at)
    manifest_key = folder + layout.MANIFEST
    latest = layout.latest_folder(prefix)

    done_bytes = read_bytes(client, bucket, manifest_key)
    if done_bytes is not None:  # 1. a re-run of a complete run
        done = json.loads(done_bytes)
        log.event("already-complete", manifest=manifest_key)
        return RunSummary(manifest_key=manifest_key,
                          manifest_sha256=hashlib.sha256(done_bytes).hexdigest(),
                          rows=done.get("tables", {}), bytes=done.get("totalBytes", 0),
                          already_complete=True)
    previous = read_json(client, bucket, latest + layout.MANIFEST)
    encrypted = bool(settings.age_recipients)
    pseudonymiser = Pseudonymiser(settings.pseudonym_key.get_secret_value().encode(),
                                  settings.key_version)
    files: list[dict[str, Any]] = []
    rows: dict[str, int] = {}

    with open_snapshot(settings.db_host, settings.db_port, settings.db_user,
                       settings.db_password.get_secret_value(), settings.db_schema
                       ) as (conn, info):
        live = check_live(conn, spec, settings.db_schema)  # 2.
        if not live.report.ok:
            raise SchemaDrift(live.report.problems)
        referenced = {pair for pairs in live.referenced.values() for pair in pairs}
        current_fingerprint = fingerprint(live.source, referenced)
        drift = compare(previous.get("source", {}).get("fingerprint") if previous else None,
                        current_fingerprint, referenced)
        log.event("snapshot", serverVersion=info.server_version,
                  snapshotTime=info.snapshot_time.isoformat(), newColumns=drift.new_columns)

        for table in spec.tables:  # 3.
            columns = output_columns(table, pseudonymiser)
            with ExitStack() as stack:
                parquet_sink, parquet_file = stack.enter_context(open_object(
                    client, bucket, layout.table_key(folder, table.name, encrypted=encrypted),
                    recipients=settings.age_recipients,
                    content_type="application/vnd.apache.parquet"))
                csv_sink = csv_file = None
                if settings.csv:
                    csv_sink, csv_file = stack.enter_context(open_object(
                        client, bucket,
                        layout.table_key(folder, table.name, encrypted=encrypted, csv=True),
                        recipients=settings.age_recipients, content_type="text/csv"))
                written = write_table(stream_rows(conn, table.query, settings.rows_per_group),
                                      columns, table.name, parquet_sink, csv_sink)
            rows[table.name] = written.rows
            files.append(_file_entry(parquet_file, "table", table=table.name, format="parquet",
                                     rows=written.rows, rowGroups=written.row_groups,
                                     encrypted=encrypted))
            if csv_file is not None:
                files.append(_file_entry(csv_file, "table", table=table.name, format="csv",
                                         rows=written.rows, encrypted=encrypted))
            log.event("table", table=table.name, rows=written.rows, bytes=parquet_file.bytes)

    docs = modeldocs.render_all(  # 4.
        spec, settings.model_name, model_hash, live.referenced,
        read_json(client, bucket, layout.model_key(latest, "datamodel.json")),
        read_text(client, bucket, layout.model_key(latest, "changelog.md")))
    doc_objects = {
        "datamodel.md": (docs.markdown.encode(), "text/markdown; charset=utf-8"),
        "datamodel.json": (docs.json.encode(), "application/json"),
        "datamodel.svg": (docs.svg, "image/svg+xml"),
        "datamodel.mmd": (docs.mermaid.encode(), "text/plain; charset=utf-8"),
        "changelog.md": (docs.changelog.encode(), "text/markdown; charset=utf-8"),
    }
    documentation: dict[str, str] = {}
    for name, (data, content_type) in doc_objects.items():
        stored = put_small(client, bucket, layout.model_key(folder, name), data, content_type)
        files.append(_file_entry(stored, "model"))
        documentation[name] = stored.key
    drift_stored = put_small(client, bucket, folder + "drift-report.json",
                             json.dumps(drift.as_dict(), indent=2).encode(), "application/json")
    files.append(_file_entry(drift_stored, "drift-report"))

    total = sum(int(f["bytes"]) for f in files)
    manifest = {  # 5.
        "manifestVersion": MANIFEST_VERSION,
        "kind": "TenantExtractionRun",
        "statements": [s.replace("**", "") for s in modeldocs.PLAIN_STATEMENTS],
        "extraction": settings.extraction_name,
        "scheduledAt": settings.scheduled_at.astimezone(UTC).isoformat(),
        "startedAt": started.isoformat(),
        "completedAt": datetime.now(UTC).isoformat(),
        "model": {"name": settings.model_name, "version": spec.version,
                  "contentHash": model_hash},
        "source": {"serverVersion": info.server_version, "schema": settings.db_schema,
                   "snapshotTime": info.snapshot_time.isoformat() + "Z",
                   "fingerprint": current_fingerprint},
        "pseudonymisation": {"keyVersion": settings.key_version, "algorithm": "HMAC-SHA256/128"},
        "encryption": {"ageRecipients": settings.age_recipients} if encrypted else None,
        "tables": rows,
        "documentation": documentation,
        "driftReport": drift_stored.key,
        "files": files,
        "totalBytes": total,
    }
    manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
    stored_manifest = put_small(client, bucket, manifest_key, manifest_bytes, "application/json")

    for name, (data, content_type) in doc_objects.items():  # 6.
        put_small(client, bucket, layout.model_key(latest, name), data, content_type)
    put_small(client, bucket, latest + layout.MANIFEST, manifest_bytes, "application/json")

    removed = apply_retention(client, bucket, prefix, settings.retention)  # 7.
    log.event("retention", removed=removed)
    return RunSummary(manifest_key=manifest_key, manifest_sha256=stored_manifest.sha256,
                      rows=rows, bytes=total + stored_manifest.bytes,
                      new_source_columns=drift.new_columns)
