"""`make demo`: one tenant's whole exit on the embedded local stack.

Brings up the stack (control plane, process kubelet, MariaDB, S3), seeds the
demo care organisation, runs the operator, applies examples/tenantexit.yaml
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyrage
import yaml

from tests.localcluster.stack import REPO, running_stack
from tests.support.customer import download_backup, restore_summary
from tests.support.operator_process import OPERATOR_NAMESPACE, running_operator

EXAMPLE = REPO / "examples" / "tenantexit.yaml"
S3_SECRET = "exit-s3"
BUCKET = "tenant-exits"


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", flush=True)


def _prepare_tenant(stack: Any, example: dict[str, Any], clients: int, files: int) -> Any:
    from kubernetes import client

    from tests.localcluster.seed import seed_tenant

    spec = example["spec"]
    namespace = spec["tenantNamespace"]
    core = client.CoreV1Api(stack.control_plane.api_client())
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    docs = stack.volumes.provision(namespace, spec["documents"][0]["claimName"], "64Mi", "Delete")
    stack.volumes.provision(namespace, "mysql-data", "64Mi", "Delete")
    schema = spec["database"]["databases"][0]
    report = seed_tenant(stack.mariadb, schema, clients=clients, documents_dir=docs.path,
                         files=files, seed=2027)
    core.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name=spec["database"]["credentialsSecret"]),
        string_data={"username": stack.mariadb.root_user,
                     "password": stack.mariadb.root_password}))
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="app-settings"), data={"READ_ONLY": "false"}))
    core.create_namespaced_secret(OPERATOR_NAMESPACE, client.V1Secret(
        metadata=client.V1ObjectMeta(name=S3_SECRET),
        string_data={"accessKeyId": stack.s3.access_key,
                     "secretAccessKey": stack.s3.secret_key}))
    stack.s3.create_bucket(BUCKET)
    print(f"    tenant namespace {namespace}: schema `{schema}` with "
          f"{sum(report.rows.values())} rows, {report.files} documents "
          f"({report.file_bytes / 1e6:.1f} MB) on claim {docs.claim} -> {docs.pv_name}")
    return report


def _localise(example: dict[str, Any], stack: Any, recipient: str, licence: int,
              grace: str) -> dict[str, Any]:
    """The example as written, pointed at the local servers."""
    spec = example["spec"]
    spec["readOnly"]["until"] = (datetime.now(UTC) + timedelta(seconds=licence)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    spec["database"]["host"] = stack.mariadb.host
    spec["database"]["port"] = stack.mariadb.port
    spec["destination"]["s3"]["endpoint"] = stack.s3.endpoint_url
    spec["destination"]["s3"]["region"] = stack.s3.region
    spec["destination"]["encryption"]["ageRecipients"] = [recipient]
    spec["deletion"]["gracePeriod"] = grace
    # The demo's MariaDB lives outside the tenant namespace: drop its schema too.
    spec["deletion"]["dropDatabases"] = True
    return example


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


def run(clients: int, files: int, licence: int, grace: str) -> int:
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    example = yaml.safe_load(EXAMPLE.read_text())
    name = example["metadata"]["name"]
    with tempfile.TemporaryDirectory(prefix="tenant-exit-demo-") as tmp:
        work = Path(tmp)
        say("starting the local stack (etcd, kube-apiserver, controller-manager, scheduler, "
            "process kubelet, MariaDB, S3)")
        with running_stack(work / "stack") as stack:
            plane = stack.control_plane
            say("starting the operator (CRD, namespace guard policy, its ServiceAccount)")
            with running_operator(plane, _mkdir(work / "operator")) as operator:
                say("seeding the demo care organisation")
                _prepare_tenant(stack, example, clients, files)
                say(f"kubectl apply -f {EXAMPLE.relative_to(REPO)}  (pointed at the local "
                    f"servers, licence {licence}s, grace period {grace})")
                body = _localise(example, stack, recipient, licence, grace)
                plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(body))
                watcher = PhaseWatcher(plane, name)
                watcher.wait_for("ReadOnlyLicensed", 120)
                ns = body["spec"]["tenantNamespace"]
                denied = plane.kubectl("delete", "namespace", ns, "--wait=false", check=False)
                say(f"kubectl delete namespace {ns}  ->  "
                    f"{(denied.stderr or denied.stdout).strip()}")
                exit = watcher.wait_for("AwaitingReceipt", 600)
                backup = exit["status"]["backup"]
                say(f"backup complete: {backup.get('size')} in {backup['manifest']}; "
                    f"manifest sha256 {backup['manifestSha256']}")
                say("the customer downloads through the presigned links, verifies, decrypts")
                download = download_backup(plane, exit, work / "download")
                summary = restore_summary(download, identity)
                print(f"    {summary}")
                say(f"the customer confirms receipt quoting {backup['manifestSha256'][:16]}…")
                receipt = {"spec": {"receipt": {"confirmedBy": "it@zorggroep-noord.nl",
                                                "manifestSha256": backup["manifestSha256"]}}}
                plane.kubectl("patch", "texit", name, "--type=merge", "-p", json.dumps(receipt))
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
    args = parser.parse_args(argv)
    return run(args.clients, args.files, args.licence_seconds, args.grace)


if __name__ == "__main__":
    raise SystemExit(main())
