"""`TenantExtraction`: one tenant's periodic extraction into a DataModel.

**Cluster-scoped**, like TenantExit, and for the same reasons: the record must
outlive the tenant namespace (an extraction of a tenant that has exited is
reported as ended, not lost with the namespace), and it names credentials
outside the tenant namespace (the S3 destination and the pseudonymisation key,
both in the operator's namespace). A namespaced object in the operator's
namespace would work too, but would put the tenant's record among the
operator's own objects and make `kubectl get` across tenants depend on that
namespace's RBAC; cluster scope keeps one place for every tenant-level record.

The run Jobs execute in the **operator's** namespace, not the tenant's: the
pseudonymisation key must never be readable by whoever administers the tenant
namespace (with the key, a 9-digit BSN's pseudonym is reversed by trying all
10^9 values). The operator copies only the database credentials from the tenant
namespace into a Secret owned by the extraction.

Docstrings below are user documentation (`kubectl explain tenantextraction.spec`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from tenant_exit.api import names
from tenant_exit.api.base import ApiModel
from tenant_exit.api.datamodel import Identifier, SemVer, Validation
from tenant_exit.api.resource import ObjectMeta
from tenant_exit.api.spec import (
    BucketDestination,
    Database,
    Encryption,
    SecretReference,
    cel,
    validations,
)
from tenant_exit.api.status import Condition
from tenant_exit.api.types import NamespaceName, ObjectName, Sha256Hex, Timestamp

KIND = "TenantExtraction"
PLURAL = names.EXTRACTION_PLURAL
SINGULAR = "tenantextraction"
SHORT_NAME = "textract"

# Five cron fields (minute hour day month weekday) or a @-macro, as CronJob takes.
CronSchedule = Annotated[
    str,
    StringConstraints(
        pattern=r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$",
        max_length=200,
    ),
]


class ModelReference(ApiModel):
    """The DataModel and the version this extraction was agreed on."""

    name: ObjectName
    """Name of the (cluster-scoped) DataModel."""
    version: SemVer
    """The version pinned. A run starts only while the DataModel's spec.version is
    this one: a changed model is a new agreement, so it is adopted by changing this
    field, never silently."""


class ConcurrencyPolicy(StrEnum):
    """What happens when a run is due while the previous one still runs (CronJob's terms)."""

    FORBID = "Forbid"
    """Skip the new run; counted in status.skippedRuns (the default)."""
    REPLACE = "Replace"
    """Stop the running one (its folder stays incomplete, without a manifest) and
    start the new one."""


class Pseudonymisation(ApiModel):
    """The key that turns identifiers into pseudonyms (HMAC-SHA256)."""

    key_secret: SecretReference
    """Secret in the operator's namespace holding the tenant's keys, one per version
    under the key `v<keyVersion>` (at least 32 random bytes each). Never an unsalted
    hash: a BSN has only 9 digits, so anyone could hash all of them."""
    key_version: Annotated[int, Field(ge=1, le=9999)] = 1
    """Which key to use; it is part of every pseudonym (`k2_...`), so a rotated key
    gives visibly different pseudonyms and old ones are never confused with new."""


class ExtractionDestination(ApiModel):
    """Where the runs go."""

    s3: BucketDestination
    """S3-compatible bucket and prefix; each run is a dated folder under
    `<prefix>runs/`, the model description also under `<prefix>latest/`."""
    encryption: Encryption | None = None
    """Optional age encryption of the table files (analysis data is still health
    data). The model description and manifest stay readable."""


SPEC_RULES = validations(
    cel(
        "size(self.database.databases) == 1",
        "database.databases must name exactly the one schema the model's SELECTs read",
    ),
)


class TenantExtractionSpec(ApiModel):
    """The tenant, the model, the schedule and the destination of the extraction."""

    model_config = ConfigDict(json_schema_extra=SPEC_RULES)

    tenant_namespace: Annotated[
        NamespaceName,
        Field(json_schema_extra={"x-kubernetes-validations": [
            cel("self == oldSelf", "tenantNamespace is immutable; create a new "
                "TenantExtraction instead"),
        ]}),
    ]
    """The tenant's Namespace (holds database.credentialsSecret). Immutable."""
    database: Database
    """The tenant's database, the same shape as a TenantExit's; `databases` names the
    one schema read, `excludeTables` is not used (the model's SELECTs say what is
    read). The account needs SELECT only."""
    data_model: ModelReference
    """The DataModel and its pinned version."""
    schedule: CronSchedule
    """Cron schedule (`0 3 * * *`, five fields, or @daily and friends)."""
    time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "UTC"
    """IANA time zone the schedule is read in (`Europe/Amsterdam`)."""
    suspend: bool = False
    """Stop starting runs (a running one finishes). Runs missed while suspended are
    not made up."""
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.FORBID
    """Forbid (skip a run that is due while one runs) or Replace."""
    starting_deadline_seconds: Annotated[int, Field(ge=10)] = 3600
    """A run not started within this many seconds of its scheduled time (operator
    down, previous run still going) is missed: counted in status.missedRuns and
    never started late. Only the latest due run is ever started."""
    destination: ExtractionDestination
    """Bucket, prefix and optional encryption."""
    pseudonymisation: Pseudonymisation
    """The key for pseudonymised columns."""
    retention: Annotated[int, Field(ge=1, le=1000)] = 7
    """Complete runs kept; older runs are removed only after a newer run is complete."""
    csv: bool = False
    """Also write a CSV per table (for spreadsheet users), beside the Parquet file."""


class RunResult(StrEnum):
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SCHEMA_DRIFT = "SchemaDrift"


class TableRows(ApiModel):
    """Rows written for one output table."""

    name: str
    """Output table."""
    rows: Annotated[int, Field(ge=0)]
    """Rows written."""


class RunStatus(ApiModel):
    """One run as the operator saw it."""

    job: str
    """Name of the run's Job in the operator namespace."""
    scheduled_at: Timestamp
    """The schedule time the run is for (names its folder)."""
    started_at: Timestamp | None = None
    """When the Job was created."""
    completed_at: Timestamp | None = None
    """When the Job finished."""
    result: RunResult = RunResult.RUNNING
    """Running, Succeeded, Failed or SchemaDrift."""
    message: Annotated[str, StringConstraints(max_length=4000)] = ""
    """What happened (for a failure: what to fix)."""
    location: str | None = None
    """`s3://bucket/key` of the run's manifest.json."""
    manifest_sha256: Sha256Hex | None = None
    """SHA-256 of that manifest."""
    tables: Annotated[
        list[TableRows],
        Field(max_length=256, json_schema_extra={"x-kubernetes-list-type": "map",
                                                 "x-kubernetes-list-map-keys": ["name"]}),
    ] = []
    """Rows per output table."""
    bytes: Annotated[int, Field(ge=0)] = 0
    """Bytes stored for the run (all files)."""


class ExtractionState(StrEnum):
    ACTIVE = "Active"
    SUSPENDED = "Suspended"
    ENDED = "Ended"


class TenantExtractionStatus(ApiModel):
    """Observed state of the extraction."""

    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """metadata.generation last acted upon."""
    state: ExtractionState | None = None
    """Active; Suspended (spec.suspend, or the tenant's exit reached Deleting);
    Ended (the tenant namespace is gone)."""
    model_version: str | None = None
    """The DataModel version runs use."""
    model_hash: Sha256Hex | None = None
    """Content hash of that model version."""
    next_run_at: Timestamp | None = None
    """When the next run is due."""
    last_scheduled_at: Timestamp | None = None
    """The latest schedule time the operator has dealt with (started, skipped or missed)."""
    last_run: RunStatus | None = None
    """The latest run."""
    last_successful_run: RunStatus | None = None
    """The latest complete run: what stays published when later runs fail."""
    runs: Annotated[int, Field(ge=0)] = 0
    """Runs started so far."""
    missed_runs: Annotated[int, Field(ge=0)] = 0
    """Scheduled runs not started within startingDeadlineSeconds (never started late)."""
    skipped_runs: Annotated[int, Field(ge=0)] = 0
    """Scheduled runs skipped because the previous one still ran (Forbid)."""
    validation: Validation | None = None
    """The last validation of the model against this tenant's live server."""
    new_source_columns: Annotated[list[str], Field(max_length=1000)] = []
    """`table.column` of source columns that appeared since the model was agreed;
    never extracted automatically (they may hold personal data)."""
    conditions: Annotated[
        list[Condition],
        Field(json_schema_extra={"x-kubernetes-list-type": "map",
                                 "x-kubernetes-list-map-keys": ["type"]}),
    ] = []
    """Ready, Stalled, SchemaDrift."""


class TenantExtraction(ApiModel):
    """The whole TenantExtraction object."""

    model_config = ConfigDict(extra="ignore")

    metadata: ObjectMeta
    spec: TenantExtractionSpec
    status: TenantExtractionStatus = TenantExtractionStatus()

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> TenantExtraction:
        known = {f.alias or k for k, f in TenantExtractionStatus.model_fields.items()}
        status = {k: v for k, v in dict(body.get("status") or {}).items() if k in known}
        return cls.model_validate(
            {"metadata": dict(body.get("metadata") or {}), "spec": dict(body.get("spec") or {}),
             "status": status}
        )

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def schema_name(self) -> str:
        return self.spec.database.databases[0]


__all__ = ["Identifier", "TenantExtraction", "TenantExtractionSpec", "TenantExtractionStatus"]
