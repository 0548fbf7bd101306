"""`make demo-extraction`: a TenantExtraction on the local stack, two scheduled runs.

Brings up the stack (control plane, process kubelet, MariaDB, S3), seeds the
demo care organisation, runs the operator, applies examples/datamodel-care.yaml
and a TenantExtraction scheduled every minute, waits for two runs, downloads
the second run's model description and prints where the ER diagram is, then
reads the Parquet files back with pyarrow and shows a few rows.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from tests.localcluster.seed import seed_tenant
from tests.localcluster.stack import running_stack
from tests.support.extraction import (
    apply,
    completed_runs,
    get_json,
    install_extraction_crds,
    provision_extraction,
    read_manifest,
)
from tests.support.operator_process import OPERATOR_NAMESPACE, running_operator
from tests.support.waiting import wait_for


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", flush=True)


def run(clients: int, output: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="tenant-exit-extraction-demo-") as tmp:
        work = Path(tmp)
        say("starting the local stack (control plane, process kubelet, MariaDB, S3)")
        with running_stack(work / "stack") as stack:
            plane = stack.control_plane
            install_extraction_crds(plane)
            say("starting the operator")
            (work / "operator").mkdir()
            with running_operator(plane, work / "operator") as operator:
                report = seed_tenant(stack.mariadb, "demo_zorg", clients=clients,
                                     documents_dir=None, files=0, seed=7, replace=True)
                print(f"    schema demo_zorg: {sum(report.rows.values())} rows")
                bucket = stack.s3.create_bucket("care-extractions")
                name, namespace, body = provision_extraction(
                    plane, stack.mariadb, stack.s3, schema=report.schema, bucket=bucket,
                    operator_namespace=OPERATOR_NAMESPACE, name="zorggroep-noord")
                say("kubectl apply -f examples/datamodel-care.yaml; a TenantExtraction "
                    "scheduled every minute (Europe/Amsterdam)")
                apply(plane, body)
                runs: dict[str, dict] = {}
                started = time.monotonic()
                wait_for("two scheduled runs", lambda: completed_runs(plane, name, runs),
                         timeout=240, interval=2)
                for scheduled, done in sorted(runs.items()):
                    rows = ", ".join(f"{t['name']}={t['rows']}" for t in done["tables"])
                    print(f"    run for {scheduled}: {done['result']} -> {done['location']}"
                          f"  ({rows})")
                print(f"    ({time.monotonic() - started:.0f}s)")
                say("kubectl get tenantextractions,datamodels")
                print(plane.kubectl("get", "tenantextractions,datamodels").stdout)
                latest = sorted(runs.values(), key=lambda r: r["scheduledAt"])[-1]
                key = latest["location"].removeprefix(f"s3://{bucket}/")
                manifest = read_manifest(stack.s3, bucket, key)
                client = stack.s3.client()
                output.mkdir(parents=True, exist_ok=True)
                for doc, doc_key in manifest["documentation"].items():
                    body_bytes = client.get_object(Bucket=bucket, Key=doc_key)["Body"].read()
                    (output / doc).write_bytes(body_bytes)
                (output / "manifest.json").write_text(json.dumps(manifest, indent=2))
                say(f"ER diagram: {output / 'datamodel.svg'}  (description: "
                    f"{output / 'datamodel.md'})")
                say("reading the Parquet files back with pyarrow")
                for entry in manifest["files"]:
                    if entry.get("format") != "parquet":
                        continue
                    data = client.get_object(Bucket=bucket, Key=entry["key"])["Body"].read()
                    table = pq.read_table(io.BytesIO(data))
                    print(f"    {entry['table']}: {table.num_rows} rows, schema "
                          f"{', '.join(f'{f.name}:{f.type}' for f in table.schema)}")
                    print(f"      first row: {table.slice(0, 1).to_pylist()}")
                state = (get_json(plane, "textract", name) or {}).get("status", {})
                print(f"    next run at {state.get('nextRunAt')}; missed "
                      f"{state.get('missedRuns')}, skipped {state.get('skippedRuns')}; "
                      f"tenant namespace {namespace}")
                operator.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo-extraction", description=__doc__)
    parser.add_argument("--clients", type=int, default=200, help="size of the demo tenant")
    parser.add_argument("--output", type=Path, default=Path("demo-extraction-output"),
                        help="where the model description of the last run is saved")
    args = parser.parse_args(argv)
    return run(args.clients, args.output.resolve())


if __name__ == "__main__":
    raise SystemExit(main())
