"""The schemas and printer columns of the DataModel and TenantExtraction CRDs.

Registered as `CrdSource`s in api/crd.py (`RESOURCES`), so `tenant-exit crd
--out-dir crds` writes them beside the TenantExit CRD and the same staleness
test covers them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tenant_exit.api import datamodel, extraction
from tenant_exit.api.schema import structural

# Run Jobs are named `<extraction>-<yyyymmddhhmm>` and the name becomes a label
# value (max 63 characters).
MAX_EXTRACTION_NAME_LENGTH = 48

DATAMODEL_COLUMNS: tuple[dict[str, Any], ...] = (
    {"name": "Version", "type": "string", "jsonPath": ".spec.version"},
    {"name": "Validation", "type": "string", "jsonPath": ".status.validation.result"},
    {"name": "Hash", "type": "string", "jsonPath": ".status.contentHash", "priority": 1},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
)

EXTRACTION_COLUMNS: tuple[dict[str, Any], ...] = (
    {"name": "Tenant", "type": "string", "jsonPath": ".spec.tenantNamespace"},
    {"name": "Model", "type": "string", "jsonPath": ".spec.dataModel.name"},
    {"name": "Version", "type": "string", "jsonPath": ".spec.dataModel.version"},
    {"name": "Schedule", "type": "string", "jsonPath": ".spec.schedule"},
    {"name": "State", "type": "string", "jsonPath": ".status.state"},
    {"name": "Last run", "type": "string", "jsonPath": ".status.lastRun.result"},
    # A string, not a date: kubectl prints a future date as <invalid>.
    {"name": "Next run", "type": "string", "jsonPath": ".status.nextRunAt"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
)


def _schema(spec: type[BaseModel], status: type[BaseModel], description: str,
            rules: list[dict[str, str]]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "description": description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": structural(spec.model_json_schema(by_alias=True, mode="validation")),
            "status": structural(status.model_json_schema(by_alias=True, mode="validation"),
                                 keep_defaults=False),
        },
    }
    if rules:
        schema["x-kubernetes-validations"] = rules
    return schema


def datamodel_schema() -> dict[str, Any]:
    return _schema(
        datamodel.DataModelSpec, datamodel.DataModelStatus,
        "A versioned, simplified data model for periodic extractions: output tables as one "
        "SELECT each, with a column contract (type, description, classification) and "
        "relations. An extraction holds no client documents, is not a retention archive "
        "and cannot restore the application.",
        [],
    )


def extraction_schema() -> dict[str, Any]:
    return _schema(
        extraction.TenantExtractionSpec, extraction.TenantExtractionStatus,
        "A tenant's periodic extraction into a DataModel: on a schedule, a consistent "
        "read-only snapshot of the tenant's database is written as Parquet files with the "
        "model's description into a dated folder. No client documents; not a retention "
        "archive; cannot restore the application.",
        [{"rule": f"size(self.metadata.name) <= {MAX_EXTRACTION_NAME_LENGTH}",
          "message": f"metadata.name must be at most {MAX_EXTRACTION_NAME_LENGTH} characters "
                     "so the run Jobs' names fit"}],
    )
