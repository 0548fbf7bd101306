"""The restore verification of one backup attempt, in the order backup.py calls it:

1. `prepare()` before anything is stored: Off, too large or without a scratch
   image gives the manifest's Unknown/Off record (BestEffort, Off) or fails the
   attempt with a code the operator stalls on (Required); otherwise it waits
   for the scratch server and checks it runs the source's family and major
   version.
2. `loader(schema)` per schema: an empty schema of the source's character set
   and collation in the scratch server, and the observer that tees the dump
   stream into its client (pipeline.PlainObserver).
3. `compare(...)` after the dumps: every dumped table and definition, source
   against scratch. The source's rows are counted beside the dumps in the row
   counter's own snapshot and its digests read after them; neither is the dump's
   snapshot, so both rely on the write freeze keeping the source as it was dumped
   (compare.compare_tables). A difference fails the attempt naming the tables.
4. `record()`: the manifest's `verification` section.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tenant_exit.api.restore import NO_SCRATCH_IMAGE, TOO_LARGE, RestoreMode
from tenant_exit.mysql.connect import Connection
from tenant_exit.mysql.server import ServerFamily, ServerInfo
from tenant_exit.storage.manifest import DefinitionCheck, RestoreVerification, TableCheck
from tenant_exit.worker.plan import SchemaPlan
from tenant_exit.worker.processes import find_tool
from tenant_exit.worker.progress import ProgressLog
from tenant_exit.worker.restore import compare as cmp
from tenant_exit.worker.restore.errors import (
    RestoreMismatch,
    RestoreNotPossible,
    RestoreTooLarge,
    RestoreUnavailable,
)
from tenant_exit.worker.restore.scratch import ScratchLoader, ScratchServer
from tenant_exit.worker.settings import WorkerSettings

MATCHES = "RestoreMatches"
_MAX_NAMED = 10


def client_for(family: ServerFamily, dump_client: str) -> str:
    """The family's own `mysql` client: MariaDB's `mariadb`; MySQL's `mysql` beside
    the MySQL dump client already chosen (Debian's `mysql` may be MariaDB's)."""
    if family is ServerFamily.MARIADB:
        return find_tool("mariadb")
    from pathlib import Path

    beside = Path(dump_client).with_name("mysql")
    return str(beside) if beside.is_file() else find_tool("mysql")


class RestoreCheck:
    def __init__(self, settings: WorkerSettings, source: ServerInfo, data_bytes: int,
                 dump_client: str, log: ProgressLog) -> None:
        self.s = settings
        self.source = source
        self.data_bytes = data_bytes
        self.dump_client = dump_client
        self.log = log
        self.server: ScratchServer | None = None
        self.scratch: ServerInfo | None = None
        self.status, self.reason, self.message = "Off", "Off", ""
        self.loaders: list[ScratchLoader] = []
        self.tables: list[TableCheck] = []
        self.definitions: list[DefinitionCheck] = []
        self.compare_seconds = 0.0

    @property
    def active(self) -> bool:
        return self.server is not None

    def prepare(self) -> None:
        s = self.s
        mode = s.restore_mode
        if mode is RestoreMode.OFF:
            self.message = f"spec.verification.restore is Off: {s.restore_off_reason or ''}"
            return
        too_large = s.restore_skipped == TOO_LARGE or self.data_bytes > s.restore_max_data_bytes
        if too_large:
            self._skip(TOO_LARGE, RestoreTooLarge,
                       f"the source holds {self.data_bytes} bytes of data and indexes, more "
                       f"than the scratch limit of {s.restore_max_data_bytes} bytes "
                       "(chart value restoreVerification.maxDataBytes)")
            return
        if s.restore_socket is None or s.restore_skipped == NO_SCRATCH_IMAGE:
            self._skip(NO_SCRATCH_IMAGE, RestoreNotPossible,
                       f"no scratch image is configured for {self.source.family.value} "
                       f"{self.source.version} (chart value restoreVerification.images)")
            return
        server = ScratchServer(s.restore_socket, client_for(self.source.family, self.dump_client))
        scratch = server.wait(s.restore_wait_seconds)
        if (scratch.family is not self.source.family
                or scratch.major_minor[0] != self.source.major_minor[0]):
            raise RestoreUnavailable(
                f"the scratch image {s.restore_image} runs {scratch.describe()}, not the "
                f"source's family and major version ({self.source.describe()})")
        self.server, self.scratch = server, scratch
        self.log.event("scratch-server", image=s.restore_image, version=scratch.version)

    def _skip(self, reason: str, required: type[Exception], why: str) -> None:
        if self.s.restore_mode is RestoreMode.REQUIRED:
            raise required(f"restore verification is Required, but {why}; fix that (the "
                           "level is recorded with the backed-up terms in status.terms, so "
                           "for BestEffort or Off cancel this exit and create a new one)")
        self.status, self.reason = "Unknown", reason
        self.message = f"restore not verified: {why}"
        self.log.event("restore-skipped", reason=reason)

    def loader(self, schema: str, charset: str, collation: str) -> list[ScratchLoader]:
        """The plaintext observers of one schema's dump (none when inactive)."""
        if self.server is None:
            return []
        self.server.create_schema(schema, charset, collation)
        loader = self.server.loader(schema)
        self.loaders.append(loader)
        return [loader]

    def compare(self, open_source: Callable[[], Connection], plans: list[SchemaPlan],
                counts: dict[tuple[str, str], int]) -> None:
        if self.server is None:
            return
        started = time.monotonic()
        with open_source() as source, self.server.connect() as scratch:
            for plan in plans:
                for result in cmp.compare_tables(source, scratch, plan.schema,
                                                 [t.name for t in plan.data_tables], counts):
                    self.tables.append(TableCheck(
                        schema_name=result.schema, name=result.name, method=result.method,
                        source_rows=result.source_rows, scratch_rows=result.scratch_rows,
                        source_digest=result.source_digest,
                        scratch_digest=result.scratch_digest, matches=result.matches,
                        seconds=round(result.seconds, 3)))
                excluded = {t.name for t, _ in plan.excluded}
                wanted = [(k, n) for k, n in cmp.definitions(source, plan.schema)
                          if not (k == "table" and n in excluded)]
                self.definitions += [
                    DefinitionCheck(schema_name=d.schema, kind=d.kind, name=d.name,
                                    matches=d.matches)
                    for d in cmp.compare_definitions(source, scratch, plan.schema, wanted)]
        self.compare_seconds = time.monotonic() - started
        self._judge()

    def _judge(self) -> None:
        tables = [f"{t.schema_name}.{t.name} ({self._differs(t)})"
                  for t in self.tables if not t.matches]
        definitions = [f"{d.kind} {d.schema_name}.{d.name}"
                       for d in self.definitions if not d.matches]
        for t in self.tables:
            if not t.matches:
                self.log.event("restore-mismatch", schema=t.schema_name, table=t.name,
                               method=t.method, sourceRows=t.source_rows,
                               scratchRows=t.scratch_rows)
        if tables or definitions:
            parts = []
            if tables:
                parts.append(f"table(s) {self._named(tables)}")
            if definitions:
                parts.append(f"definition(s) of {self._named(definitions)}")
            raise RestoreMismatch("the scratch server's restore differs from the source: "
                                  + "; ".join(parts))
        self.status, self.reason = "Verified", MATCHES
        rows = sum(t.source_rows for t in self.tables)
        self.message = (f"{len(self.tables)} tables ({rows} rows) and {len(self.definitions)} "
                        f"definitions match the source in a scratch {self.scratch_describe()}")

    @staticmethod
    def _differs(t: TableCheck) -> str:
        if t.source_rows != t.scratch_rows:
            return f"{t.source_rows} rows at the source, {t.scratch_rows} restored"
        return f"{t.method} differs"

    @staticmethod
    def _named(items: list[str]) -> str:
        more = len(items) - _MAX_NAMED
        return ", ".join(items[:_MAX_NAMED]) + (f" and {more} more" if more > 0 else "")

    def scratch_describe(self) -> str:
        return self.scratch.describe() if self.scratch else "server"

    def record(self) -> RestoreVerification:
        s = self.s
        return RestoreVerification(
            mode=s.restore_mode.value, status=self.status, reason=self.reason,
            message=self.message,
            off_reason=s.restore_off_reason if s.restore_mode is RestoreMode.OFF else None,
            scratch_image=s.restore_image if self.active else None,
            scratch_family=self.scratch.family.value if self.scratch else None,
            scratch_version=self.scratch.version if self.scratch else None,
            normalisation=cmp.NORMALISATION if self.active else "",
            load_seconds=round(sum(loader.seconds for loader in self.loaders), 2),
            compare_seconds=round(self.compare_seconds, 2),
            tables=self.tables, definitions=self.definitions)
