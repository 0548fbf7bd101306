"""`make demo`: one tenant's whole exit on the embedded local stack.

Brings up the stack (control plane, process kubelet, MariaDB, Oracle MySQL,
S3), seeds the demo care organisation on the server of `--db` (`make demo
DB=mysql`; MariaDB by default), runs the operator, applies examples/tenantexit.yaml
(pointed at the local servers, with a short licence period and grace period),
shows the phases as they change, downloads the backup through the presigned
links like the customer would, verifies and decrypts it, confirms receipt
with the real manifest digest, and ends with the certificate of destruction
and `kubectl get tenantexits`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from tests.localcluster.stack import REPO, running_stack
from tests.support.customer import download_backup, restore_summary
from tests.support.full_tenant import provision_tenant
from tests.support.operator_process import OPERATOR_NAMESPACE, running_operator

EXAMPLE = REPO / "examples" / "tenantexit.yaml"


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", flush=True)


class PhaseWatcher:
    """Prints a kubectl-style line whenever the phase or a condition changes."""

    def __init__(self, plane: Any, name: str) -> None:
        self.plane, self.name, self.seen = plane, name, ""
        self.started = time.monotonic()

    def get(self) -> dict[str, Any]:
        return dict(json.loads(self.plane.kubectl("get", "texit", self.name, "-o", "json").stdout))

    def wait_for(self, phase: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            exit = self.get()
            status = exit.get("status", {})
            conditions = {c["type"]: c for c in status.get("conditions", [])}
            stalled = conditions.get("Stalled", {})
            line = f"{status.get('phase', '-'):<17} " + (
                f"Stalled: {stalled.get('message')}" if stalled.get("status") == "True"
                else conditions.get("Ready", {}).get("message", ""))
            if line != self.seen:
                print(f"    [{time.monotonic() - self.started:6.1f}s] {self.name}  {line}",
                      flush=True)
                self.seen = line
            if status.get("phase") == phase:
                return exit
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} did not reach {phase} within {timeout:.0f}s; "
                                   f"last: {line}")
            time.sleep(1)


def run(clients: int, files: int, licence: int, grace: str, family: str = "mariadb") -> int:
    name = yaml.safe_load(EXAMPLE.read_text())["metadata"]["name"]
    with tempfile.TemporaryDirectory(prefix="tenant-exit-demo-") as tmp:
        work = Path(tmp)
        say("starting the local stack (etcd, kube-apiserver, controller-manager, scheduler, "
            "process kubelet, MariaDB, MySQL, S3)")
        with running_stack(work / "stack") as stack:
            plane = stack.control_plane
            say("starting the operator (CRD, namespace guard policy, its ServiceAccount)")
            with running_operator(plane, _mkdir(work / "operator")) as operator:
                db = stack.database(family)
                say(f"seeding the demo care organisation on {family} {db.version}")
                tenant = provision_tenant(plane, db, stack.s3, stack.volumes,
                                          OPERATOR_NAMESPACE, clients=clients, files=files,
                                          exit_name=name)
                report = tenant.report
                print(f"    namespace {tenant.namespace}: schema `{tenant.schema}` with "
                      f"{sum(report.rows.values())} rows, {report.files} documents "
                      f"({report.file_bytes / 1e6:.1f} MB) on claim "
                      f"{tenant.documents.claim}")
                say(f"kubectl apply -f {EXAMPLE.relative_to(REPO)}  (pointed at the local "
                    f"servers, licence {licence}s, grace period {grace})")
                # The demo's database lives outside the tenant namespace: drop it too.
                tenant.apply(tenant.body(licence_seconds=licence, grace=grace,
                                         drop_databases=True))
                watcher = PhaseWatcher(plane, name)
                watcher.wait_for("ReadOnlyLicensed", 120)
                say(f"kubectl delete namespace {tenant.namespace}  ->  "
                    f"{tenant.try_delete_namespace()}")
                exit = watcher.wait_for("AwaitingReceipt", 600)
                backup = exit["status"]["backup"]
                say(f"backup complete: {backup.get('size')} in {backup['manifest']}; "
                    f"manifest sha256 {backup['manifestSha256']}")
                say("the customer downloads through the presigned links, verifies, decrypts")
                download = download_backup(plane, exit, work / "download")
                print(f"    {restore_summary(download, tenant.identity)}")
                say(f"the customer confirms receipt quoting {backup['manifestSha256'][:16]}…")
                tenant.patch_spec({"receipt": {"confirmedBy": "it@zorggroep-noord.nl",
                                               "manifestSha256": backup["manifestSha256"]}})
                exit = watcher.wait_for("Deleted", 600)
                say("certificate of destruction")
                print(json.dumps(exit["status"].get("deletion", {}), indent=2))
                say("kubectl get tenantexits")
                print(plane.kubectl("get", "tenantexits").stdout)
                operator.stop()
    return 0


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo", description=__doc__)
    parser.add_argument("--clients", type=int, default=200, help="size of the demo tenant")
    parser.add_argument("--files", type=int, default=300, help="client documents")
    parser.add_argument("--licence-seconds", type=int, default=15,
                        help="length of the read-only licence period")
    parser.add_argument("--grace", default="10s", help="grace period after receipt")
    parser.add_argument("--db", choices=["mariadb", "mysql"], default="mariadb",
                        help="database family of the tenant (MariaDB starts faster)")
    args = parser.parse_args(argv)
    return run(args.clients, args.files, args.licence_seconds, args.grace, args.db)


if __name__ == "__main__":
    raise SystemExit(main())
