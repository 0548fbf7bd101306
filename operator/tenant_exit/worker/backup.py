"""One backup attempt, start to manifest: the order of the stages lives here.

1. If this attempt already has a manifest whose objects verify (the pod ran to
   the end before and only its report was lost), report it again — idempotent.
2. Abort unfinished multipart uploads of this and earlier (ended) attempts of
   this exit, left by pods killed hard; never under the exit's whole prefix.
3. Inventory and a check of the dump account's privileges (pymysql).
4. One encrypted dump object per schema, each scanned as it streams: it must
   create exactly the planned objects (`completeness`), and its INSERTs give
   the manifest's row counts, from the dump's own snapshot. Exact counts of
   the excluded tables run beside it. When restore verification is on, the
   same plaintext is teed into the scratch server (worker/restore/). Then one
   encrypted tar per document claim; every table and definition compared,
   source against scratch; the data dictionary (JSON and Markdown).
5. manifest.json, last. No manifest means no backup: every failure above
   raises before it is written.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from tenant_exit import __name__ as _package
from tenant_exit.mysql.connect import Connection, connect
from tenant_exit.mysql.dictionary import read_dictionary, render_markdown
from tenant_exit.mysql.inventory import Inventory, count_rows, read_inventory
from tenant_exit.mysql.server import ServerFamily, ServerInfo, read_server
from tenant_exit.storage.adoption import term_differences
from tenant_exit.storage.manifest import (
    DatabaseRecord,
    DocumentsRecord,
    Encryption,
    ExcludedTable,
    Manifest,
    ObjectKind,
    SchemaRecord,
    StoredObject,
    TableRows,
    Totals,
    manifest_key,
    read_manifest,
    verify_backup,
)
from tenant_exit.storage.multipart import abort_stale_uploads
from tenant_exit.worker.clients import DumpClient, find_client
from tenant_exit.worker.completeness import DumpCompleteness, expected_objects
from tenant_exit.worker.documents import TarProducer
from tenant_exit.worker.dump import DumpProducer, dump_argv, dump_options, sandbox_line_note
from tenant_exit.worker.exclusions import DOCUMENT_EXCLUSION_REASON, TABLE_EXCLUSION_REASON
from tenant_exit.worker.layout import database_key, dictionary_key, documents_key
from tenant_exit.worker.pipeline import (
    BytesProducer,
    PlainObserver,
    Producer,
    StreamDigests,
    stream_object,
    zstd_version,
)
from tenant_exit.worker.plan import SchemaPlan, plan_database
from tenant_exit.worker.privileges import check_dump_privileges
from tenant_exit.worker.processes import find_tool, tool_version
from tenant_exit.worker.progress import ProgressLog
from tenant_exit.worker.restore.run import RestoreCheck
from tenant_exit.worker.settings import WorkerSettings
from tenant_exit.worker.summary import Summary
from tenant_exit.worker.tar_readback import TarReadBack
from tenant_exit.worker.uploads import ObjectStore, object_store

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tenant-exit-operator")
    except PackageNotFoundError:
        return "unknown"


class RowCounter(threading.Thread):
    """Exact row counts in a thread, so the scans overlap the dump's streaming."""

    def __init__(self, open_connection: Callable[[], Connection],
                 tables: list[tuple[str, str]]) -> None:
        super().__init__(name="row-counter", daemon=True)
        self._open = open_connection
        self._tables = tables
        self._counts: dict[tuple[str, str], int] = {}
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            with self._open() as conn:
                self._counts = count_rows(conn, self._tables)
        except BaseException as err:  # re-raised by result()
            self._error = err

    def result(self) -> dict[tuple[str, str], int]:
        self.join()
        if self._error is not None:
            raise self._error
        return self._counts


class BackupRun:
    """Streams objects of one attempt and remembers what it stored."""

    def __init__(self, settings: WorkerSettings, store: ObjectStore, log: ProgressLog) -> None:
        self.settings = settings
        self.store_to = store
        self.log = log
        self.objects: list[StoredObject] = []

    def store(self, producer: Producer, key: str, kind: ObjectKind, name: str,
              content: str, observers: Sequence[PlainObserver] = ()) -> StreamDigests:
        s = self.settings
        self.log.event("object-start", object=producer.label, key=key)
        started = time.monotonic()
        with self.store_to.upload(key) as upload:
            digests = stream_object(producer, upload, zstd_level=s.zstd_level,
                                    zstd_threads=s.zstd_threads,
                                    recipients=s.age_recipients, log=self.log,
                                    observers=observers)
            upload.complete()
        self.store_to.confirm(key, upload.version_id)
        self.objects.append(StoredObject(
            key=key, kind=kind, name=name, content=content, size=digests.stored_bytes,
            sha256=digests.stored_sha256, plaintext_bytes=digests.plaintext_bytes,
            plaintext_sha256=digests.plaintext_sha256, version_id=upload.version_id))
        # seconds: start of the upload to the store's confirmation of the object;
        # streamSeconds: until the last byte left the pipeline.
        seconds = time.monotonic() - started
        mbps = digests.plaintext_bytes / max(seconds, 1e-6) / 1e6
        self.log.event("object-done", object=producer.label, key=key,
                       plaintextBytes=digests.plaintext_bytes, storedBytes=digests.stored_bytes,
                       seconds=round(seconds, 2), streamSeconds=round(digests.seconds, 2),
                       plaintextMBps=round(mbps, 1))
        return digests


def schema_record(plan: SchemaPlan, inventory: Inventory,
                  counts: dict[tuple[str, str], int], key: str) -> SchemaRecord:
    """`counts`: rows of the dumped tables (from the stream) and of the excluded ones."""
    objects = inventory.objects.get(plan.schema)
    charset, collation = inventory.charsets.get(plan.schema, ("", ""))
    expected = expected_objects(plan, inventory)
    return SchemaRecord(
        name=plan.schema, object_key=key,
        tables=[TableRows(name=t.name, rows=counts[(plan.schema, t.name)])
                for t in plan.data_tables],
        views=[t.name for t in plan.included if t.type == "VIEW"],
        routines=objects.routines if objects else [],
        triggers=[t for t in (objects.triggers if objects else []) if t in expected["trigger"]],
        events=objects.events if objects else [],
        excluded_tables=[ExcludedTable(name=t.name, pattern=p,
                                       rows=counts.get((plan.schema, t.name)))
                         for t, p in plan.excluded],
        character_set=charset, collation=collation)


def database_record(server: ServerInfo, client: DumpClient, schemas: list[SchemaRecord],
                    notes: list[str], settings: WorkerSettings) -> DatabaseRecord:
    return DatabaseRecord(
        server_version=server.version, server_family=server.family.value,
        server_version_comment=server.version_comment, sql_mode=server.sql_mode,
        gtid_mode=server.gtid_mode, dump_tool=client.version, dump_client=client.name,
        dump_options=dump_options(client), notes=notes,
        exclude_patterns=list(settings.db_exclude_tables),
        exclusion_reason=TABLE_EXCLUSION_REASON, schemas=schemas)


def dump_client_for(server: ServerInfo, settings: WorkerSettings) -> DumpClient:
    override = (settings.mysql_dump_path if server.family is ServerFamily.MYSQL
                else settings.mariadb_dump_path)
    return find_client(server, override)


def existing_backup(settings: WorkerSettings, client: S3Client,
                    log: ProgressLog) -> Summary | None:
    """The summary of this attempt's manifest if it exists and every object verifies."""
    key = manifest_key(settings.object_prefix)
    try:
        manifest, sha = read_manifest(client, settings.s3_bucket, key)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    if settings.exit_uid is not None:
        differences = term_differences(
            manifest, exit_uid=settings.exit_uid, schemas=settings.db_databases,
            claims=[d.name for d in settings.documents], recipients=settings.age_recipients)
        if differences:
            log.event("existing-manifest-not-ours", key=key, reason="; ".join(differences))
            return None
    report = verify_backup(client, settings.s3_bucket, key)
    if not report.ok:
        log.event("existing-manifest-invalid", key=key, reason=report.summary())
        return None
    log.event("existing-manifest-verified", key=key, manifestSha256=sha)
    return Summary.of(manifest, key, sha)


def run_backup_attempt(settings: WorkerSettings, client: S3Client | None,
                       log: ProgressLog) -> Summary:
    """`client`: None with presigned uploads (settings.presigned), which need none."""
    s = settings
    prefix = s.object_prefix
    started_at = datetime.now(UTC)
    log.event("start", exit=s.exit_name, attempt=s.attempt, bucket=s.s3_bucket, prefix=prefix)

    if s.presigned:
        # Reading an earlier run's manifest and aborting stale uploads need rights the
        # presigned URLs do not give: the operator does both with its own keys.
        log.event("presigned-uploads", note="no keys in the tenant namespace")
    else:
        assert client is not None, "uploads with keys need a client"
        previous = existing_backup(s, client, log)
        if previous is not None:
            return previous
        stale = abort_stale_uploads(client, s.s3_bucket, s.ended_attempt_prefixes)
        if stale:
            log.event("aborted-stale-uploads", count=stale)
    store = object_store(s, client)

    # -- server, client and inventory first --
    password = s.db_password.get_secret_value()
    with connect(s.db_host, s.db_port, s.db_user, password) as conn:
        server = read_server(conn)
        # Before anything is stored: the server's own family of client, or nothing.
        dumper = dump_client_for(server, s)
        inventory = read_inventory(conn, s.db_databases)
        plans = plan_database(inventory, s.db_exclude_tables)
        # Before anything is stored: mysqldump leaves out what it cannot see silently.
        check_dump_privileges(conn, plans, server, log)
    log.event("server", family=server.family.value, version=server.version,
              client=dumper.path, clientVersion=dumper.version)
    dumped = [(p.schema, t.name) for p in plans for t in p.data_tables]
    log.event("inventory", server=inventory.server_version, schemas=inventory.schemas,
              tables=len(dumped), excludedTables=sum(len(p.excluded) for p in plans))

    def open_source() -> Connection:
        return connect(s.db_host, s.db_port, s.db_user, password)

    # Before anything is stored: Required and impossible fails here (issue 13).
    restore = RestoreCheck(s, server, inventory.data_bytes, dumper.path, log)
    restore.prepare()
    # Rows of the dumped tables come from their dump streams (the dump's snapshot);
    # the excluded tables are counted apart, for the list of what is left out. The
    # restore comparison needs source counts that do not come from the stream it
    # checks, so with it on the dumped tables are counted on the source too.
    left_out = [(p.schema, t.name) for p in plans for t, _ in p.excluded if t.holds_data]
    counter = RowCounter(open_source, left_out + (dumped if restore.active else []))
    counter.start()

    run = BackupRun(s, store, log)

    database_bytes = 0
    sandboxed: list[str] = []
    counts: dict[tuple[str, str], int] = {}
    for plan in plans:
        argv = dump_argv(dumper, host=s.db_host, port=s.db_port, user=s.db_user,
                         schema=plan.schema, ignore_tables=plan.ignore_tables)
        dump = DumpProducer(argv, password, plan.schema)
        charset, collation = inventory.charsets.get(plan.schema, ("", ""))
        # Proof that the dump holds what was planned. After the scratch load, whose
        # refusal of a statement names its line: the more precise error of the two.
        completeness = DumpCompleteness(plan.schema, expected_objects(plan, inventory))
        observers: list[PlainObserver] = [*restore.loader(plan.schema, charset, collation),
                                          completeness]
        digests = run.store(dump, database_key(prefix, plan.schema), ObjectKind.DATABASE,
                            plan.schema, "application/sql", observers=observers)
        counts.update({(plan.schema, t.name): completeness.rows(t.name)
                       for t in plan.data_tables})
        log.event("dump-complete", schema=plan.schema,
                  tables=len(plan.data_tables), rows=sum(completeness.rows(t.name)
                                                         for t in plan.data_tables))
        database_bytes += digests.plaintext_bytes
        if dump.sandbox_line_removed:
            sandboxed.append(plan.schema)

    document_records = []
    for source in s.documents:
        key = documents_key(prefix, source.name)
        readback = TarReadBack(source.name, log)
        tar = TarProducer(source, log, on_walked=readback.comparison.walked)
        run.store(tar, key, ObjectKind.DOCUMENTS, source.name, "application/x-tar",
                  observers=[readback])
        document_records.append(DocumentsRecord(
            claim=source.name, object_key=key, files=tar.stats.files, bytes=tar.stats.bytes,
            directories=tar.stats.directories, symlinks=tar.stats.symlinks,
            member_list_sha256=readback.member_list_sha256,
            exclude_patterns=list(source.exclude), exclusion_reason=DOCUMENT_EXCLUSION_REASON))

    source_rows = counter.result()
    excluded_rows = {table: source_rows[table] for table in left_out}
    log.event("counted-excluded", tables=len(excluded_rows), rows=sum(excluded_rows.values()))
    restore.compare(open_source, plans, source_rows)
    log.event("restore", status=restore.status, reason=restore.reason,
              tables=len(restore.tables), seconds=round(restore.compare_seconds, 2))
    excluded = {(p.schema, t.name): pattern for p in plans for t, pattern in p.excluded}
    with connect(s.db_host, s.db_port, s.db_user, password) as conn:
        dictionary = read_dictionary(conn, inventory.schemas, generated_at=started_at,
                                     server=server, row_counts=counts, excluded=excluded)
    run.store(BytesProducer("data-dictionary-json", dictionary.to_json_bytes()),
              dictionary_key(prefix, "json"), ObjectKind.DATA_DICTIONARY, "json",
              "application/json")
    run.store(BytesProducer("data-dictionary-md", render_markdown(dictionary).encode()),
              dictionary_key(prefix, "md"), ObjectKind.DATA_DICTIONARY, "markdown",
              "text/markdown")

    schema_records = [schema_record(plan, inventory, counts | excluded_rows,
                                    database_key(prefix, plan.schema)) for plan in plans]
    manifest = Manifest(
        exit_name=s.exit_name, exit_uid=s.exit_uid, attempt=s.attempt, started_at=started_at,
        completed_at=datetime.now(UTC), request=s.request, freeze=s.freeze,
        encryption=Encryption(recipients=list(s.age_recipients)),
        objects=run.objects,
        database=database_record(server, dumper, schema_records,
                                 [sandbox_line_note(sandboxed)] if sandboxed else [], s),
        documents=document_records,
        totals=Totals(tables=len(counts), rows=sum(counts.values()),
                      database_bytes=database_bytes,
                      files=sum(d.files for d in document_records),
                      document_bytes=sum(d.bytes for d in document_records)),
        tools={"tenant-exit": f"{_package} {_package_version()}", dumper.name: dumper.version,
               "tar": tool_version([find_tool("tar"), "--version"]),
               "zstd": zstd_version(),
               "age": tool_version([find_tool("age"), "--version"])},
        verification=restore.record(),
        retention=store.retention,
    )
    data = manifest.to_bytes()
    key = manifest_key(prefix)
    store.put_manifest(key, data)
    sha = hashlib.sha256(data).hexdigest()
    log.event("manifest", key=key, manifestSha256=sha)
    return Summary.of(manifest, key, sha)
