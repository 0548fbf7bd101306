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
from tests.localcluster.mariadb import MariaDBServer
from tests.localcluster.s3server import S3Server

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_MODEL = ROOT / "examples" / "datamodel-care.yaml"
TEST_KEY = "test-pseudonymisation-key-0123456789abcdef"


def sample_model() -> DataModel:
    return DataModel.from_body(yaml.safe_load(SAMPLE_MODEL.read_text()))


def run_settings(mariadb: MariaDBServer, s3: S3Server, *, schema: str, bucket: str,
                 model: DataModelSpec, scheduled_at: datetime, prefix: str = "care/",
                 key: str = TEST_KEY, key_version: int = 1, **extra: Any
                 ) -> ExtractionSettings:
    return ExtractionSettings(
        extraction_name="test-extraction", scheduled_at=scheduled_at, model_name="care-reporting",
        model=model, db_host=mariadb.host, db_port=mariadb.port, db_user=mariadb.root_user,
        db_password=mariadb.root_password, db_schema=schema, s3_bucket=bucket,
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
