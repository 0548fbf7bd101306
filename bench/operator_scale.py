"""`make bench-operator`: N TenantExits on the local control plane, the operator
restarted, and what it costs to take them all up again.

Creates N tenant namespaces (BENCH_EXITS, default 100; 1000 for the goal), each
with a TenantExit held in ReadOnlyLicensed by a far `readOnly.until` (database
mode None, no documents: the figures are the operator's, not MariaDB's). One
exit is taken there by the running operator; its status is the template for the
other N-1, which are created with it (status subresource) while the operator is
stopped, because first passes were slow at scale: each listed every exit to find
rivals for the namespace, so taking 1,000 new exits up one by one ran at ~0.7
exits/s (351 s to create 1,000 and 299 held after 7 min on 2 shared cores). The
rivals are now listed by a field selector (spec.tenantNamespace); the held
status is kept because it is what a restart meets. Status and namespace guards
are written as the operator's identity, which the guard policies require. The
copies also carry the template's kopf state (its finalizer and last handled
spec), so the restart is kopf's resume of exits it has handled before;
BENCH_FIRST_CONTACT=1 leaves it out, as the figures before issue 15's watch
cache were taken: kopf then adds its finalizer and stores its diff base first,
two patches and a watch round trip per exit before its handler runs.
Then the operator starts again and the bench reports:

  settle      seconds from the restart until every exit was reconciled once
              (one "Handler 'handle_change' succeeded" per exit in the new
              process's log: kopf's resume pass)
  RSS / CPU   the operator's VmRSS and VmHWM after settling, and its CPU-seconds
              for the restart's settle and for the idle window
  idle rate   API requests per second while idle (apiserver_request_total over
              BENCH_IDLE_SECONDS, default 60, minus the same window with the
              operator stopped: the control plane's own components)

The resync timer runs at the operator's default interval (30 s), not the tests'
2 s. Goals: 1,000 exits settle within 60 s, RSS <= 300 MB.

Measured before issue 15's operator changes (2 cores shared with other work,
load 7-10): N=1000: settle 250.5 s, 72.6 CPU-s, RSS 394 MiB, idle 89.3 req/s and
34% of a core. A held exit's pass then cost 9 API requests, most of them the
same for every exit: 2 GETs of guard policies, 2 of their bindings, a
SelfSubjectReview, a LIST of every PV in the cluster, plus its exit, namespace
and claims; at 89 req/s the 30 s timers reached only ~10 of the 33 exits/s due.

After (commit "Operator passes no longer scale ..."), same machine under load
12-27: a held exit's pass costs 3 requests (its exit, its namespace, its claims;
busiest-requests line), so the idle rate is 3 x N / resync: N=100 10.4 req/s
(was 29.3 in the same conditions), N=1000 89.1 req/s, now every timer on time
(29.7 passes/s). Settle and RSS are not better: N=100 settle 67 s (73.6 before,
py-spy attached both times), RSS 141-161 MiB (140 before); N=1000 settle 412 s
at load 12-16, 79.8 CPU-s, RSS 417 MiB. CPU per pass is ~80 ms and the settle
is bound by API latency on the loaded cores, 8 passes at a time. The py-spy
profile of the settle (BENCH_PROFILE) names the next lever: ~20% of samples
wait for logging's module lock, which every kubernetes-client model object
takes in its Configuration() (logger setLevel clears every logger's cache); the
per-pass reads of the namespace and its claims deserialize into such models.
Until this bench wrote each held exit's own namespace UID, guards and messages,
every first pass also re-applied the guards (18% of samples); each first pass
patched its status too (~25% of samples at N=30): the template was taken after
the admission pass (Ready=Progressing), before the pass that holds the licence.

After the watch cache (reconcile/passes.py, kube/cache.py): a pass that finds
nothing to do reads the namespace, its claims and volumes from list+watch
mirrors and trusts kopf's body of the exit when this process has seen no newer
version, so a held exit's pass costs no API request; a pass that acts reads
everything again. Same machine, 2 cores shared with other work:
  first contact (BENCH_FIRST_CONTACT=1, the figures above), before -> after:
    N=300  settle 59.2 s (load 7.6) -> 70.4 s (load 10-13); CPU 13.0 -> 10.8 s;
           RSS 223 -> 181 MiB; idle 27.3 -> 0.8 req/s, CPU 11% -> 7%.
    N=1000 neither settles in 600 s (load 6-18): before 972 exits in 600 s,
           after 950 in 220 s, the last ~30 held by kopf's retries of its own
           first-contact patches (314 answered 429 Too Many Requests, 261 timed
           out in the API server): with our reads gone, kopf's 2 patches per new
           exit arrive all at once. RSS ~410 MiB during that storm.
  restart (kopf state kept, the default now), cache off
  (TENANT_EXIT_WATCH_CACHE=false, the reads of before) -> on:
    N=300  settle 24.8 s (load 5-13) -> 19.5 s (load 16); CPU 8.0 -> 5.7 s;
           RSS 145 -> 143 MiB; idle 30.1 -> 0.0 req/s, 12% -> 5% of a core.
    N=1000 settle 37.5 s (load 5-11) -> 29.2 s (load 14-16); CPU 16.9 -> 10.8 s;
           RSS 186 -> 178 MiB; idle 91.3 -> 0.0 req/s (3 per pass -> none: the
           watches' bookmarks only), 37% -> 15% of a core, i.e. 11.3 -> 4.4 ms of
           CPU per held exit's timer pass, kopf's share included.
  Both goals are met on a restart: 1,000 exits settle in 29-38 s, RSS <= 186 MiB.
  First contact with 1,000 exits is bound by kopf's own patches, not the passes.

Not measured yet: exits in AwaitingReceipt from a prepared status (they need a
stored manifest per exit for the verification the pass reads).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config
from tests.localcluster.controlplane import ControlPlane
from tests.support.exits import AGE_RECIPIENT
from tests.support.operator_process import (
    OPERATOR_NAMESPACE,
    OperatorProcess,
    install_crds,
    operator_kubeconfig,
)

from tenant_exit.api import names
from tenant_exit.settings import OperatorSettings

TEMPLATE_NAMESPACE = "tenant-scale-0000"
SUCCEEDED = re.compile(r"Handler 'handle_change' succeeded")


def _spec(namespace: str) -> dict[str, object]:
    return {
        "tenantNamespace": namespace,
        "readOnly": {"until": "2099-01-01T00:00:00Z", "database": "None",
                     "writesNotFrozenAcknowledgement": "operator bench: no database runs"},
        "database": {"host": "mysql.invalid", "port": 3306,
                     "credentialsSecret": "exit-dump-credentials", "databases": ["ons"]},
        "destination": {
            "s3": {"bucket": "tenant-exits", "prefix": f"{namespace}/",
                   "endpoint": "http://127.0.0.1:9", "region": "us-east-1",
                   "credentialsSecret": {"namespace": OPERATOR_NAMESPACE, "name": "exit-s3"}},
            "encryption": {"ageRecipients": [AGE_RECIPIENT]},
        },
        "deletion": {"gracePeriod": "72h"},
    }


def create_exits(plane: ControlPlane, first: int, count: int,
                 status: dict[str, object] | None = None,
                 operator_api: client.ApiClient | None = None,
                 kopf_state: dict[str, Any] | None = None) -> list[str]:
    """Exits `first`..`count-1`, each with its namespace; with `status` (a held
    exit's, written by the operator) set through the status subresource as the
    operator's identity (the terms guard lets nobody else write it); with
    `kopf_state` (the held exit's finalizers and kopf annotations) as kopf left it."""
    api = plane.api_client()
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    as_operator = client.CustomObjectsApi(operator_api or api)
    created = []
    for i in range(first, count):
        namespace = f"tenant-scale-{i:04d}"
        name = f"scale-{i:04d}"
        # Held exits' namespaces carry the guards the operator put there, written as
        # the operator (the guard policy lets nobody else set them): a restart
        # finds them intact rather than re-applying them.
        meta = client.V1ObjectMeta(name=namespace)
        if status is not None:
            meta = client.V1ObjectMeta(
                name=namespace, finalizers=[names.NAMESPACE_FINALIZER],
                labels={names.LABEL_EXIT: name, names.LABEL_DELETION: names.DELETION_BLOCKED},
                annotations={names.ANNOTATION_PHASE: str(status.get("phase"))})
        creator = client.CoreV1Api(operator_api) if status is not None and operator_api else core
        created_ns = creator.create_namespace(client.V1Namespace(metadata=meta))
        metadata: dict[str, Any] = {"name": name}
        if kopf_state is not None:
            # kopf's diff base holds the spec, which names the exit's own namespace.
            metadata.update(json.loads(json.dumps(kopf_state).replace(TEMPLATE_NAMESPACE,
                                                                      namespace)))
        custom.create_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL, {
            "apiVersion": f"{names.GROUP}/{names.VERSION}", "kind": "TenantExit",
            "metadata": metadata, "spec": _spec(namespace)})
        if status is not None:
            # Its own namespace's identity: the template's UID would make every first
            # pass report a replaced namespace (a status patch and an Event per exit).
            # Its messages name its own namespace, too (else each pass rewrites them).
            own = json.loads(json.dumps(status).replace(TEMPLATE_NAMESPACE, namespace))
            own["tenant"] = {**(own.get("tenant") or {}), "namespaceUid": created_ns.metadata.uid}
            as_operator.patch_cluster_custom_object_status(
                names.GROUP, names.VERSION, names.PLURAL, name, {"status": own})
        created.append(name)
    return created


def held_status(plane: ControlPlane, name: str) -> dict[str, object]:
    body = client.CustomObjectsApi(plane.api_client()).get_cluster_custom_object(
        names.GROUP, names.VERSION, names.PLURAL, name)
    status: dict[str, object] = body.get("status") or {}
    return status


def kopf_state(plane: ControlPlane, name: str) -> dict[str, Any]:
    """What kopf keeps on an exit it has handled: its finalizer and its annotations
    (the last handled spec). An exit without them is new to kopf, which first adds
    the finalizer (one patch, then the next watch event) and stores the diff base
    (another patch): first contact, not a restart."""
    meta = client.CustomObjectsApi(plane.api_client()).get_cluster_custom_object(
        names.GROUP, names.VERSION, names.PLURAL, name)["metadata"]
    return {"finalizers": list(meta.get("finalizers") or []),
            "annotations": {k: v for k, v in (meta.get("annotations") or {}).items()
                            if k.startswith(f"{names.GROUP}/")}}


def _ready_reason(status: dict[str, object]) -> str | None:
    conditions = status.get("conditions") or []
    assert isinstance(conditions, list)
    return next((str(c.get("reason")) for c in conditions if c.get("type") == "Ready"), None)


def phases(plane: ControlPlane) -> dict[str, int]:
    listing = client.CustomObjectsApi(plane.api_client()).list_cluster_custom_object(
        names.GROUP, names.VERSION, names.PLURAL)
    counts: dict[str, int] = {}
    for item in listing["items"]:
        phase = (item.get("status") or {}).get("phase") or "(none)"
        counts[phase] = counts.get(phase, 0) + 1
    return counts


_LABEL = re.compile(r'(\w+)="([^"]*)"')


def requests_by_kind(plane: ControlPlane) -> dict[str, float]:
    """apiserver_request_total summed by `verb resource[/subresource]`."""
    text = plane.kubectl("get", "--raw", "/metrics").stdout
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(_LABEL.findall(line.split("}", 1)[0]))
        kind = f"{labels.get('verb', '?')} {labels.get('resource', '?')}"
        if labels.get("subresource"):
            kind += f"/{labels['subresource']}"
        counts[kind] = counts.get(kind, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts


def requests_total(plane: ControlPlane) -> float:
    return sum(requests_by_kind(plane).values())


def top_requests(before: dict[str, float], after: dict[str, float], seconds: float,
                 top: int = 6) -> str:
    rates = {kind: (after.get(kind, 0.0) - before.get(kind, 0.0)) / seconds for kind in after}
    busiest = sorted(rates.items(), key=lambda item: -item[1])[:top]
    return ", ".join(f"{kind} {rate:.1f}/s" for kind, rate in busiest if rate > 0)


def profiler(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the operator (BENCH_PROFILE=<dir>): collapsed stacks in `out`,
    written when it is interrupted."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("BENCH_PROFILE set but py-spy is not installed (pip install py-spy)")
        return None
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--format", "raw",
                             "--rate", "50", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is None:
        return
    spy.send_signal(signal.SIGINT)
    spy.wait(timeout=60)
    print(f"profile: {spy.args[-1]}", flush=True)


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss(pid: int) -> tuple[int, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            values[line.split(":")[0]] = int(line.split()[1])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def _new_log_successes(log: str, start: int) -> int:
    part = log.split(f"=== start {start} ===", 1)[-1]
    return len(SUCCEEDED.findall(part))


def wait_until(what: str, check: object, timeout: float) -> float:
    started = time.monotonic()
    while not check():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)
    return time.monotonic() - started


def main() -> int:
    count = int(os.environ.get("BENCH_EXITS", "100"))
    first_contact = os.environ.get("BENCH_FIRST_CONTACT", "") not in ("", "0")
    idle = float(os.environ.get("BENCH_IDLE_SECONDS", "60"))
    resync = OperatorSettings.model_fields["resync_seconds"].default
    workdir = Path(tempfile.mkdtemp(prefix="tenant-exit-bench-operator-"))
    profile = Path(os.environ["BENCH_PROFILE"]) if os.environ.get("BENCH_PROFILE") else None
    if profile:
        profile.mkdir(parents=True, exist_ok=True)
    with ControlPlane(workdir=workdir / "cp") as plane:
        install_crds(plane)
        kubeconfig = operator_kubeconfig(plane, workdir / "operator.kubeconfig")
        operator = OperatorProcess(kubeconfig, workdir,
                                   env={"TENANT_EXIT_RESYNC_SECONDS": str(resync)})
        operator.start()
        try:
            create_exits(plane, 0, 1)
            # Held, not just admitted: the admission pass leaves Ready=Progressing and
            # the next pass sets LicenceRunning; a template taken in between makes
            # every copy's first pass rewrite its status.
            wait_until("the first exit held in its licence",
                       lambda: _ready_reason(held_status(plane, "scale-0000"))
                       == "LicenceRunning", timeout=120)
            template = held_status(plane, "scale-0000")
            state = None if first_contact else kopf_state(plane, "scale-0000")
            operator.kill()
            started = time.monotonic()
            create_exits(plane, 1, count, template,
                         config.new_client_from_config(str(kubeconfig)), state)
            print(f"created {count - 1} more exits with the held status in "
                  f"{time.monotonic() - started:.1f} s: {phases(plane)}", flush=True)
            restarted = time.monotonic()
            operator.start(timeout=120)
            assert operator.popen is not None
            pid = operator.popen.pid
            spy = profiler(pid, profile / "settle.txt") if profile else None
            wait_until("every exit reconciled once after the restart",
                       lambda: _new_log_successes(operator.logs(), operator.starts) >= count,
                       timeout=600)
            settle = time.monotonic() - restarted
            stop_profiler(spy)
            cpu_settle = proc_cpu(pid)
            rss, hwm = proc_rss(pid)
            print(f"settled in {settle:.1f} s after the restart; CPU {cpu_settle:.1f} s; "
                  f"RSS {rss / 1024:.0f} MiB (peak {hwm / 1024:.0f} MiB)", flush=True)

            spy = profiler(pid, profile / "idle.txt") if profile else None
            kinds, cpu0 = requests_by_kind(plane), proc_cpu(pid)
            time.sleep(idle)
            kinds_after = requests_by_kind(plane)
            with_operator = (sum(kinds_after.values()) - sum(kinds.values())) / idle
            cpu_idle = proc_cpu(pid) - cpu0
            stop_profiler(spy)
            print(f"busiest requests while idle: {top_requests(kinds, kinds_after, idle)}",
                  flush=True)
            rss_idle, hwm_idle = proc_rss(pid)
            operator.stop()
            before = requests_total(plane)
            time.sleep(idle)
            baseline = (requests_total(plane) - before) / idle
        finally:
            operator.stop()
    if os.environ.get("BENCH_KEEP"):
        print(f"kept {workdir} (the operator's log: operator.log)")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    rate = with_operator - baseline
    print(f"idle {idle:.0f} s: API {with_operator:.1f} req/s with the operator, "
          f"{baseline:.1f} without -> operator {rate:.1f} req/s "
          f"(resync {resync:.0f} s x {count} exits); operator CPU {cpu_idle:.1f} s "
          f"({100 * cpu_idle / idle:.0f}% of a core); RSS {rss_idle / 1024:.0f} MiB")
    print(f"exits={count}")
    print(f"kopf_state={'first-contact' if first_contact else 'restart'}")
    print(f"settle_seconds={settle:.1f}")
    print(f"operator_rss_mib={max(hwm, hwm_idle) / 1024:.0f}")
    print(f"operator_idle_cpu_percent={100 * cpu_idle / idle:.0f}")
    print(f"operator_idle_requests_per_second={rate:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
