"""The fault suite, operator part (issue 10, item 7): in one run the operator is
SIGKILLed at random points, at least TENANT_EXIT_CHAOS_KILLS (default 20) times
while an exit is in each of ReadOnlyLicensed, BackupRunning, AwaitingReceipt and
Deleting, and restarted after every kill. After every kill, while it is down, the
invariants of `tests/support/chaos.py` are asserted for every exit: no duplicate
Job, nothing deleted before `notBefore`, no object of a backup lost; in the end
every exit converges to Deleted with its certificate.

The schedule is seeded: the seed is printed and named in every failed assertion;
TENANT_EXIT_CHAOS_SEED=<seed> replays it (the operator's own timing still varies,
so a replay repeats the choices, not every interleaving).

Several exits run side by side, started one after another, so that one kill
lands on exits in different phases; new exits are started only while some phase
still lacks kills. Each phase is kept open for a random while the way it is in
life: the licence runs until a random `readOnly.until`, the backup goes through
a slow store (the S3 proxy delays each part), the customer confirms the receipt
after a random wait and the grace period runs, and an object of the tenant with
a finalizer of its own keeps the namespace Terminating for a random while.

One database family (MariaDB) suffices here: what is under test is the
operator's crash safety (kopf handlers re-run, deterministic Job names, the order
of the irreversible steps), which is the same code for both families; the
family-specific paths are covered by the other tests, and the database-stop case
of the fault suite (test_fault_backup_retries.py) runs on both.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.families import only_on
from tests.localcluster.s3server import S3Server
from tests.localcluster.volumes import LocalVolumes
from tests.support.chaos import PHASES, Chaos, DeletionWatch, ExitUnderFire, chaos_seed
from tests.support.full_tenant import FullTenant, provision_tenant
from tests.support.operator_process import OPERATOR_NAMESPACE, OperatorProcess, running_operator
from tests.support.s3_proxy import Rule, S3FaultProxy

pytestmark = [pytest.mark.cluster, pytest.mark.chaos,
              only_on("mariadb", "operator crash safety is family-independent (docstring)")]

KILLS_PER_PHASE = int(os.environ.get("TENANT_EXIT_CHAOS_KILLS", "20"))
EXITS = 4
MAX_EXITS = 8
BUDGET_SECONDS = 1200.0
HOLD = "chaos.tenantexit.io/hold"
FAR = "2099-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def proxy(s3_server: S3Server) -> Iterator[S3FaultProxy]:
    with S3FaultProxy(s3_server.endpoint_url) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane, kubelet: object,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    env = {"TENANT_EXIT_BACKUP_RETRY_SECONDS": "2"}
    with running_operator(control_plane, Path(tmp_path_factory.mktemp("chaos")), env,
                          forked=True) as process:
        yield process


class Fleet:
    """The exits of the run and the user's part in them.

    Each exit is parked in one phase (a seeded assignment, one exit per phase)
    until that phase has had its kills, and stays a seeded few kills in each
    other phase; so from early on every phase holds an exit and one kill lands
    on all four. A phase is held open the way it is in life: the licence runs
    (readOnly.until far ahead, moved to now when the licence ends), the store is
    slow (the proxy holds each request of the worker for up to 90 s), the
    customer takes a while to confirm the receipt, and an object of the tenant
    with a finalizer of its own keeps the namespace Terminating."""

    def __init__(self, chaos: Chaos, plane: ControlPlane, db: DatabaseServer, s3: S3Server,
                 volumes: LocalVolumes, proxy: S3FaultProxy, watch: DeletionWatch) -> None:
        self.chaos, self.plane, self.db, self.s3 = chaos, plane, db, s3
        self.volumes, self.proxy, self.watch = volumes, proxy, watch
        self.waiting: list[FullTenant] = []
        self.exits: list[ExitUnderFire] = []
        self.parked: dict[str, str] = {}
        self.holds: dict[str, Rule] = {}
        self.custom = client.CustomObjectsApi(plane.api_client())
        self.total_kills = 0
        self.parking = chaos.rng.sample(PHASES, len(PHASES))
        self.last_seen: dict[str, dict[str, Any]] = {}

    @property
    def live(self) -> list[ExitUnderFire]:
        return [e for e in self.exits if not e.done]

    def short_of_kills(self) -> bool:
        return any(self.chaos.kills[phase] < KILLS_PER_PHASE for phase in PHASES)

    def provision(self) -> FullTenant:
        tenant = provision_tenant(self.plane, self.db, self.s3, self.volumes,
                                  OPERATOR_NAMESPACE, clients=3, files=4)
        tenant.core.create_namespaced_config_map(tenant.namespace, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="held", finalizers=[HOLD])))
        return tenant

    def maybe_launch(self) -> None:
        """All exits at the start; another only if a phase is still short of kills
        and no live exit could still be parked in it."""
        if len(self.exits) < EXITS:
            park = self.parking[len(self.exits)]
        else:
            short = [p for p in PHASES if self.chaos.kills[p] < KILLS_PER_PHASE]
            if not short or len(self.exits) >= MAX_EXITS or any(
                    PHASES.index(self._phase_of(e)) <= PHASES.index(short[0])
                    for e in self.live if self._phase_of(e) in PHASES):
                return
            park = short[0]
        tenant = self.waiting.pop() if self.waiting else self.provision()
        body = tenant.body(licence_seconds=60, grace=f"{self.chaos.rng.randint(1, 4)}s")
        body["spec"]["readOnly"]["until"] = FAR
        body["spec"]["destination"]["s3"]["endpoint"] = self.proxy.endpoint_url
        tenant.apply(body)
        ex = ExitUnderFire(tenant, self.s3.client(), uid=tenant.get()["metadata"]["uid"])
        ex.stays = {phase: self.chaos.rng.randint(0, 2) for phase in PHASES}
        self.parked[ex.name] = park
        # The slow store: while the exit is parked in BackupRunning, each write of
        # its worker waits up to 90 s (its S3 client gives up on an answer after 120).
        self.holds[ex.name] = self.proxy.hold(
            "*", count=1 << 20, at_most=90 if park == "BackupRunning" else 0,
            key_contains=f"{ex.name}-{ex.uid[:8]}/attempt-1/")
        self.watch.add(tenant)
        self.exits.append(ex)

    def _phase_of(self, ex: ExitUnderFire) -> str:
        return str(self.last_seen.get(ex.name, {}).get("status", {}).get("phase"))

    def listing(self) -> dict[str, dict[str, Any]]:
        listed = self.custom.list_cluster_custom_object("tenantexit.io", "v1alpha1",
                                                        "tenantexits")
        return {item["metadata"]["name"]: item for item in listed["items"]}

    def act_as_user(self, seen: dict[str, dict[str, Any]]) -> None:
        """Let go of each phase an exit has stayed in long enough."""
        self.last_seen = seen
        for ex in self.live:
            status = seen.get(ex.name, {}).get("status", {})
            phase = status.get("phase")
            if phase is None or phase in ex.opened or ex.kills[phase] < ex.stays.get(phase, 0):
                continue
            if self.parked[ex.name] == phase and self.chaos.kills[phase] < KILLS_PER_PHASE:
                continue
            ex.opened.add(phase)
            if phase == "ReadOnlyLicensed":  # the licence ends
                ex.tenant.patch_spec({"readOnly": {"until": datetime.now(UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ")}})
            elif phase == "BackupRunning":  # the store is fast again
                self.holds[ex.name].release()
            elif phase == "AwaitingReceipt":  # the customer confirms
                ex.tenant.patch_spec({"receipt": {
                    "confirmedBy": "it@zorggroep-noord.nl",
                    "manifestSha256": status["backup"]["manifestSha256"]}})
            elif phase == "Deleting":  # the tenant's last object goes
                ex.tenant.core.patch_namespaced_config_map(
                    "held", ex.tenant.namespace, {"metadata": {"finalizers": None}})

    def count_kill(self, seen: dict[str, dict[str, Any]]) -> None:
        self.total_kills += 1
        phases = set()
        for ex in self.live:
            phase = seen.get(ex.name, {}).get("status", {}).get("phase")
            if phase in PHASES:
                ex.kills[phase] += 1
                phases.add(phase)
        for phase in phases:
            self.chaos.kills[phase] += 1

    def finish(self, ex: ExitUnderFire, exit: dict[str, Any]) -> None:
        """An exit in Deleted: its end state, checked once."""
        deletion = exit["status"]["deletion"]
        tenant: FullTenant = ex.tenant
        self.chaos.require(not tenant.namespace_exists() and not tenant.schema_exists(),
                           f"converges: {ex.name} is Deleted but its tenant is not gone")
        stored = self.s3.client().get_object(Bucket=tenant.bucket,
                                             Key=deletion["certificateObject"])["Body"].read()
        self.chaos.require(stored and deletion["certificateSha256"],
                           f"converges: {ex.name} has no certificate")
        ex.verify(self.chaos)  # the whole backup, read back once more
        ex.done = True

    def story(self, seen: dict[str, dict[str, Any]]) -> str:
        """What each live exit waits for (for a failure message)."""
        lines = []
        for ex in self.live:
            status = seen.get(ex.name, {}).get("status", {})
            ready = [c for c in status.get("conditions", []) if c["type"] in ("Ready",
                                                                              "Stalled")]
            lines.append(f"{ex.name} {status.get('phase')} kills {dict(ex.kills)} "
                         f"{[(c['type'], c['reason'], c['message'][:160]) for c in ready]}")
        return "; ".join(lines)


@pytest.mark.timeout(BUDGET_SECONDS + 300)
def test_operator_killed_at_random_points_in_every_phase(
    operator: OperatorProcess, control_plane: ControlPlane, db_server: DatabaseServer,
    s3_server: S3Server, local_volumes: LocalVolumes, proxy: S3FaultProxy,
) -> None:
    chaos = Chaos(chaos_seed())
    print(f"chaos {chaos}")
    with DeletionWatch(db_server, client.CoreV1Api(control_plane.api_client())) as watch:
        fleet = Fleet(chaos, control_plane, db_server, s3_server, local_volumes, proxy, watch)
        fleet.waiting = [fleet.provision() for _ in range(EXITS)]
        started = time.monotonic()
        try:
            while fleet.short_of_kills() or fleet.live or len(fleet.exits) < EXITS:
                seen = fleet.listing()
                fleet.last_seen = seen
                assert time.monotonic() - started < BUDGET_SECONDS, (
                    f"no convergence within {BUDGET_SECONDS:.0f}s: kills {dict(chaos.kills)}; "
                    f"{fleet.story(seen)} [{chaos}]")
                fleet.maybe_launch()
                fleet.act_as_user(seen)
                wait_for_kill_point(chaos, operator, [e.name for e in fleet.live])

                seen = fleet.listing()
                operator.kill()
                fleet.count_kill(seen)
                seen = fleet.listing()
                for ex in fleet.live:
                    ex.check(chaos, seen.get(ex.name), watch)
                    if seen.get(ex.name, {}).get("status", {}).get("phase") == "Deleted":
                        fleet.finish(ex, seen[ex.name])
                assert watch.error is None, f"the deletion watch failed: {watch.error!r}"
                operator.start()
                print(f"kill {fleet.total_kills} at {time.monotonic() - started:.0f}s: "
                      f"{dict(chaos.kills)}", flush=True)
        finally:
            wall = time.monotonic() - started
            print(f"chaos {chaos}: {fleet.total_kills} kills and restarts in {wall:.0f}s "
                  f"over {len(fleet.exits)} exits; kills per phase {dict(chaos.kills)}; "
                  f"invariant checks {dict(chaos.checks)}", flush=True)
            proxy.clear()
            if not operator.healthy_or_none():
                operator.start()
            for ex in fleet.exits:
                _clean_up(ex.tenant)
            for tenant in fleet.waiting:
                _clean_up(tenant)
    assert all(chaos.kills[phase] >= KILLS_PER_PHASE for phase in PHASES), chaos.kills
    assert all(ex.done for ex in fleet.exits)


def passes_ended(operator: OperatorProcess) -> Counter[str]:
    """Handler and timer runs this operator process has finished, by exit name."""
    with operator.log_path.open("rb") as log:
        log.seek(operator.log_offset)
        life = log.read().decode(errors="replace")
    ended: Counter[str] = Counter()
    for line in life.splitlines():
        if line.startswith(('{"message": "Handler \'', '{"message": "Timer \'')):
            found = re.search(r'"name": "([^"]+)"', line)
            if found:
                ended[found.group(1)] += 1
    return ended


def wait_for_kill_point(chaos: Chaos, operator: OperatorProcess, names: list[str]) -> None:
    """The kill point, counted from the restart. Sometimes a short random while
    (a kill during startup or the first pass); mostly a random while after every
    live exit has finished a pass in this process, so the kill falls inside a
    later pass however slow the machine is, and every exit makes progress (an
    operator always killed before a pass finishes could never converge)."""
    if chaos.rng.random() < 0.2 or not names:
        time.sleep(chaos.rng.uniform(0.0, 2.0))
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ended = passes_ended(operator)
        if all(ended[name] for name in names):
            break
        time.sleep(0.3)
    time.sleep(chaos.rng.uniform(0.0, 2.0))


def _clean_up(tenant: FullTenant) -> None:
    if tenant.namespace_exists():
        with contextlib.suppress(client.ApiException):
            tenant.core.patch_namespaced_config_map(
                "held", tenant.namespace, {"metadata": {"finalizers": None}})
    tenant.plane.kubectl("delete", "texit", tenant.exit_name, "--wait=false", check=False)
    tenant.plane.kubectl("delete", "namespace", tenant.namespace, "--wait=false", check=False)
