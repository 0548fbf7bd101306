"""The operator under fire: a seeded kill schedule and the invariants checked after
every kill (issue 10, item 7).

`Chaos` owns the random choices of one run. Its seed comes from
TENANT_EXIT_CHAOS_SEED when set (to replay a failure) and is otherwise drawn at
random; it is printed at the start and named in every failed assertion.

`ExitUnderFire` follows one TenantExit and its tenant, and `check()` asserts the
promises of the exit while the operator lies dead:
- no duplicate Job: every Job ever seen for the exit is `<exit>-backup-1` and the
  exit counts one attempt (nothing fails in this run, so a second Job could only
  come from a handler that ran twice);
- nothing deleted before `notBefore`: until the exit is in Deleting and its
  grace period has passed, the namespace has no deletionTimestamp, the schema is
  there, the volumes' data is there; a deletionTimestamp the API server set, and
  `status.deletion.startedAt`, are never earlier than `notBefore`;
- no object lost: from the moment the exit has a manifest, it stays the same
  manifest, with the same digest, and every object it lists is in the bucket
  with the size and SHA-256 the manifest gives (`verify_backup`).
`DeletionWatch` polls the namespaces and schemas between kills (the time a
deletion is first seen), so a deletion between two kills is caught too.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kubernetes import client

from tenant_exit.storage.manifest import read_manifest, verify_backup
from tests.localcluster.dbserver import DatabaseServer
from tests.support.full_tenant import FullTenant

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SEED_ENV = "TENANT_EXIT_CHAOS_SEED"
PHASES = ("ReadOnlyLicensed", "BackupRunning", "AwaitingReceipt", "Deleting")
BEFORE_DELETING = PHASES[:3]


def chaos_seed() -> int:
    raw = os.environ.get(SEED_ENV)
    return int(raw) if raw else random.SystemRandom().randrange(1 << 32)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Chaos:
    """The seeded choices of one run and the tally of what was done and checked."""

    seed: int
    kills: Counter[str] = field(default_factory=Counter)
    checks: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def __str__(self) -> str:
        return f"seed {self.seed} (replay: {SEED_ENV}={self.seed})"

    def require(self, ok: object, what: str) -> None:
        """Assert `ok`, naming the seed; count the check."""
        self.checks[what.split(":", 1)[0]] += 1
        assert ok, f"{what} [{self}]"


@dataclass
class ExitUnderFire:
    tenant: FullTenant
    s3: S3Client
    jobs_seen: set[str] = field(default_factory=set)
    manifest: str | None = None
    digest: str | None = None
    not_before: datetime | None = None
    deleting_seen_at: float | None = None
    uid: str = ""
    kills: Counter[str] = field(default_factory=Counter)
    """Kills while this exit was in each phase."""
    stays: dict[str, int] = field(default_factory=dict)
    """How many kills this exit stays in each phase the test holds open."""
    opened: set[str] = field(default_factory=set)
    """The phases whose hold the test has let go."""
    stored: dict[str, tuple[int, str]] | None = None
    """Size and ETag of every object of the manifest, as first verified."""
    listed: set[str] = field(default_factory=set)
    """The keys the manifest lists."""
    done: bool = False

    @property
    def name(self) -> str:
        return self.tenant.exit_name

    def check(self, chaos: Chaos, exit: dict[str, Any] | None, watch: DeletionWatch) -> None:
        """The invariants of this exit, now (the operator is down while this runs)."""
        chaos.require(exit is not None, f"exit lost: TenantExit {self.name} vanished")
        assert exit is not None
        status = exit.get("status", {})
        phase = status.get("phase")
        self._check_jobs(chaos, status)
        self._check_not_deleted_early(chaos, phase, status, watch)
        self._check_backup_kept(chaos, status)

    def _check_jobs(self, chaos: Chaos, status: dict[str, Any]) -> None:
        if self._namespace() is not None:
            self.jobs_seen |= {job.metadata.name for job in self.tenant.jobs()}
        chaos.require(self.jobs_seen <= {f"{self.name}-backup-1"},
                      f"duplicate Jobs: {self.name} has Jobs {sorted(self.jobs_seen)}")
        attempts = status.get("backup", {}).get("attempts", 0)
        chaos.require(attempts <= 1, f"duplicate Jobs: {self.name} counts {attempts} attempts")

    def _check_not_deleted_early(self, chaos: Chaos, phase: str | None,
                                 status: dict[str, Any], watch: DeletionWatch) -> None:
        deletion = status.get("deletion", {})
        not_before = parse_time(deletion.get("notBefore"))
        if not_before is not None:
            self.not_before = not_before
        if phase in BEFORE_DELETING or phase is None:
            namespace = self._namespace()
            intact = (namespace is not None and namespace.metadata.deletion_timestamp is None
                      and self.tenant.schema_exists() and self.tenant.documents.path.exists())
            chaos.require(intact, f"deletion before notBefore: {self.name} in phase {phase} "
                                  "has lost its namespace, schema or documents")
        started = parse_time(deletion.get("startedAt"))
        if started is not None:
            chaos.require(self.not_before is not None and started >= self.not_before,
                          f"deletion before notBefore: {self.name} started deleting at "
                          f"{started}, notBefore {self.not_before}")
        for what, at in watch.deletions(self.tenant).items():
            # The API server's deletionTimestamp has whole seconds.
            limit = self.not_before.replace(microsecond=0) if self.not_before else None
            chaos.require(limit is not None and at >= limit,
                          f"deletion before notBefore: {self.name}'s {what} went at {at}, "
                          f"notBefore {self.not_before}")

    def _namespace(self) -> client.V1Namespace | None:
        try:
            return self.tenant.core.read_namespace(self.tenant.namespace)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise

    def _check_backup_kept(self, chaos: Chaos, status: dict[str, Any]) -> None:
        backup = status.get("backup", {})
        manifest, digest = backup.get("manifest"), backup.get("manifestSha256")
        if manifest is None:
            chaos.require(self.manifest is None,
                          f"objects lost: {self.name} no longer names its manifest")
            return
        if self.manifest is None:
            self.manifest, self.digest = manifest, digest
            self.verify(chaos)
        chaos.require((manifest, digest) == (self.manifest, self.digest),
                      f"objects lost: {self.name} switched from manifest {self.manifest} "
                      f"to {manifest}")
        # Cheap between kills: one listing; the objects keep the size and ETag they
        # had when their SHA-256 was verified (an overwrite changes the ETag).
        chaos.require(self._listing() == self.stored,
                      f"objects lost: {self.name}'s objects changed: {self._listing()} "
                      f"after {self.stored}")

    def verify(self, chaos: Chaos) -> None:
        """Every object of the manifest, read back and compared with it."""
        assert self.manifest is not None
        if not self.listed:
            manifest, _ = read_manifest(self.s3, self.tenant.bucket, self.manifest)
            self.listed = {obj.key for obj in manifest.objects}
        report = verify_backup(self.s3, self.tenant.bucket, self.manifest)
        chaos.require(report.ok and report.manifest_sha256 == self.digest and report.checks,
                      f"objects lost: {self.name}: {report.summary()}")
        listing = self._listing()
        chaos.require(self.stored is None or listing == self.stored,
                      f"objects lost: {self.name}'s objects changed")
        self.stored = listing

    def _listing(self) -> dict[str, tuple[int, str]]:
        assert self.manifest is not None
        folder = self.manifest.rsplit("/", 1)[0] + "/"
        listed = self.s3.list_objects_v2(Bucket=self.tenant.bucket, Prefix=folder)
        kept = {o["Key"]: (o["Size"], o["ETag"]) for o in listed.get("Contents", [])}
        # The operator adds README, signature and certificate beside the manifest
        # later; the backup is the manifest and what it lists.
        return {k: v for k, v in kept.items() if k == self.manifest or k in self.listed}


class DeletionWatch:
    """Between kills, every second: when each tenant's namespace was marked for
    deletion (the API server's deletionTimestamp, or the time it was first seen
    gone) and when its schema was first seen gone."""

    def __init__(self, db: DatabaseServer, core: client.CoreV1Api) -> None:
        self.db = db
        self.core = core
        self.tenants: list[FullTenant] = []
        self._seen: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="deletion-watch", daemon=True)
        self.error: BaseException | None = None

    def add(self, tenant: FullTenant) -> None:
        with self._lock:
            self.tenants.append(tenant)

    def deletions(self, tenant: FullTenant) -> dict[str, datetime]:
        """What of `tenant` was seen deleted, and when."""
        with self._lock:
            return {what: at for (ns, what), at in self._seen.items() if ns == tenant.namespace}

    def __enter__(self) -> DeletionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self._poll()
            except Exception as error:
                self.error = error

    def _poll(self) -> None:
        with self._lock:
            tenants = list(self.tenants)
        if not tenants:
            return
        now = datetime.now(UTC)
        namespaces = {ns.metadata.name: ns for ns in self.core.list_namespace().items}
        with self.db.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
            schemas = {row[0] for row in cur.fetchall()}
        found: dict[tuple[str, str], datetime] = {}
        for tenant in tenants:
            ns = namespaces.get(tenant.namespace)
            if ns is None:
                found[(tenant.namespace, "namespace")] = now
            elif ns.metadata.deletion_timestamp is not None:
                found[(tenant.namespace, "namespace")] = \
                    ns.metadata.deletion_timestamp.astimezone(UTC)
            if tenant.schema not in schemas:
                found[(tenant.namespace, "schema")] = now
        with self._lock:
            for key, at in found.items():
                self._seen.setdefault(key, at)


def elapsed(since: float) -> float:
    return time.monotonic() - since
