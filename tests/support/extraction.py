"""Helpers for extraction tests: settings for a run against the harness servers,
and reading a run's objects back (Parquet through pyarrow, as a user would)."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from tenant_exit.api.datamodel import DataModel, DataModelSpec
from tenant_exit.extraction.settings import ExtractionSettings
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.s3server import S3Server

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_MODEL = ROOT / "examples" / "datamodel-care.yaml"
TEST_KEY = "test-pseudonymisation-key-0123456789abcdef"


def sample_model() -> DataModel:
    return DataModel.from_body(yaml.safe_load(SAMPLE_MODEL.read_text()))


def run_settings(db_server: DatabaseServer, s3: S3Server, *, schema: str, bucket: str,
                 model: DataModelSpec, scheduled_at: datetime, prefix: str = "care/",
                 key: str = TEST_KEY, key_version: int = 1, **extra: Any
                 ) -> ExtractionSettings:
    return ExtractionSettings(
        extraction_name="test-extraction", scheduled_at=scheduled_at, model_name="care-reporting",
        model=model, db_host=db_server.host, db_port=db_server.port, db_user=db_server.root_user,
        db_password=db_server.root_password, db_schema=schema, s3_bucket=bucket,
        s3_prefix=prefix, s3_endpoint=s3.endpoint_url, s3_region=s3.region,
        pseudonym_key=key, key_version=key_version, **extra)


def all_objects(s3: S3Server, bucket: str, prefix: str = "") -> dict[str, bytes]:
    client = s3.client()
    found: dict[str, bytes] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found


def read_manifest(s3: S3Server, bucket: str, key: str) -> dict[str, Any]:
    body = s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return dict(json.loads(body))


def read_parquet(s3: S3Server, bucket: str, key: str) -> Any:
    body = s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return pq.read_table(io.BytesIO(body))


# --------------------------------------------------------------------------
# On the local cluster
# --------------------------------------------------------------------------

EXTRACTION_CRDS = [ROOT / "crds" / "tenantexit.io_datamodels.yaml",
                   ROOT / "crds" / "tenantexit.io_tenantextractions.yaml"]


def install_extraction_crds(plane: Any) -> None:
    for path in EXTRACTION_CRDS:
        plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    plane.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                  "crd/datamodels.tenantexit.io", "crd/tenantextractions.tenantexit.io")


def get_json(plane: Any, kind: str, name: str) -> dict[str, Any] | None:
    result = plane.kubectl("get", kind, name, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def apply(plane: Any, body: dict[str, Any]) -> None:
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(body))


def provision_extraction(plane: Any, db_server: DatabaseServer, s3: S3Server, *, schema: str,
                         bucket: str, operator_namespace: str, schedule: str = "* * * * *",
                         name: str | None = None) -> tuple[str, str, dict[str, Any]]:
    """A tenant namespace with its database Secret, S3 and key Secrets in the
    operator namespace, the sample DataModel, and a TenantExtraction body (not
    yet applied). Returns (name, tenant namespace, body)."""
    import secrets as random_secrets
    import uuid

    from kubernetes import client

    suffix = uuid.uuid4().hex[:6]
    name = name or f"extract-{suffix}"
    namespace = f"tenant-{suffix}"
    core = client.CoreV1Api(plane.api_client())

    def secret(where: str, secret_name: str, data: dict[str, str]) -> None:
        core.create_namespaced_secret(where, client.V1Secret(
            metadata=client.V1ObjectMeta(name=secret_name), string_data=data))

    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    secret(namespace, "db", {"username": db_server.root_user, "password": db_server.root_password})
    secret(operator_namespace, f"{name}-s3", {"accessKeyId": s3.access_key,
                                              "secretAccessKey": s3.secret_key})
    secret(operator_namespace, f"{name}-key", {"v1": random_secrets.token_urlsafe(32)})
    apply(plane, yaml.safe_load(SAMPLE_MODEL.read_text()))
    body = {
        "apiVersion": "tenantexit.io/v1alpha1", "kind": "TenantExtraction",
        "metadata": {"name": name},
        "spec": {
            "tenantNamespace": namespace,
            "database": {"host": db_server.host, "port": db_server.port, "credentialsSecret": "db",
                         "databases": [schema]},
            "dataModel": {"name": "care-reporting", "version": "1.0.0"},
            "schedule": schedule, "timeZone": "Europe/Amsterdam",
            "startingDeadlineSeconds": 50, "retention": 5,
            "destination": {"s3": {"bucket": bucket, "prefix": f"{suffix}/",
                                   "endpoint": s3.endpoint_url, "region": s3.region,
                                   "credentialsSecret": {"namespace": operator_namespace,
                                                         "name": f"{name}-s3"}}},
            "pseudonymisation": {"keySecret": {"namespace": operator_namespace,
                                               "name": f"{name}-key"}, "keyVersion": 1},
        },
    }
    return name, namespace, body


def key_of(plane: Any, operator_namespace: str, name: str) -> str:
    """The pseudonymisation key the test created (to check it never leaks)."""
    import base64

    out = plane.kubectl("get", "secret", f"{name}-key", "-n", operator_namespace,
                        "-o", "jsonpath={.data.v1}").stdout
    return base64.b64decode(out).decode()


def completed_runs(plane: Any, name: str, runs: dict[str, dict[str, Any]],
                   count: int = 2) -> bool:
    """Collect lastSuccessfulRun by schedule time into `runs`; True once `count` are in."""
    status = (get_json(plane, "textract", name) or {}).get("status", {})
    good = status.get("lastSuccessfulRun")
    if good:
        runs[good["scheduledAt"]] = good
    return len(runs) >= count
