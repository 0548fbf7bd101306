"""`DataModel`: the simplified, documented data model a periodic extraction writes.

Cluster-scoped and versioned (docs/extraction.md). One model serves every tenant
running the same application, so it belongs to no tenant namespace; a
`TenantExtraction` pins the version it was agreed on.

Each output table is one SQL SELECT over the tenant's source schema with a
column contract. The contract, not the query, is what the organisation reads:
every column has a type, a description and a classification, and the
classification decides what the run does with it (`identifying` columns never
leave the database unless a transform maps them to something that no longer
identifies a person; `pseudonymised` columns become keyed pseudonyms).

Docstrings below are user documentation: the CRD generator copies them into the
schema (`kubectl explain datamodel.spec.tables.columns`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from tenant_exit.api import names
from tenant_exit.api.base import ApiModel
from tenant_exit.api.resource import ObjectMeta
from tenant_exit.api.status import Condition
from tenant_exit.api.types import Sha256Hex, Timestamp

KIND = "DataModel"
PLURAL = names.DATAMODEL_PLURAL
SINGULAR = "datamodel"
SHORT_NAME = "dmodel"


class Classification(StrEnum):
    """What a column says about a person, and so what the run does with it."""

    IDENTIFYING = "identifying"
    """Names, BSN, addresses, contact details, free text: dropped from the output
    unless a transform maps it (a birth date to a year, a postcode to its area)."""
    PSEUDONYMISED = "pseudonymised"
    """Client and employee identifiers: replaced by a keyed HMAC-SHA256 pseudonym."""
    SENSITIVE = "sensitive"
    """Health or financial data kept as is; documented so readers handle it with care."""
    PLAIN = "plain"
    """Nothing personal: codes, counts, dates of care events."""


class Transform(StrEnum):
    """A mapping applied by the run before a value is written."""

    BIRTH_YEAR = "birthYear"
    """DATE or DATETIME -> the year as an integer (1931-05-17 -> 1931)."""
    POSTCODE_AREA = "postcodeArea"
    """Dutch postcode -> its 4-digit area ("8911 AB" -> "8911")."""


# The contract's types: a small vocabulary the organisation's tools understand,
# each with one exact Parquet type (extraction/parquet.py).
COLUMN_TYPE_PATTERN = (
    r"^(string|integer|boolean|double|date|timestamp|time|json|binary|decimal\([1-9][0-9]?,[0-9][0-9]?\))$"
)
ColumnType = Annotated[str, StringConstraints(pattern=COLUMN_TYPE_PATTERN)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$")]
SemVer = Annotated[
    str,
    StringConstraints(pattern=r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$"),
]


def decimal_precision_scale(column_type: str) -> tuple[int, int] | None:
    """`decimal(12,2)` -> (12, 2); None for every other type."""
    found = re.fullmatch(r"decimal\(([0-9]+),([0-9]+)\)", column_type)
    return (int(found.group(1)), int(found.group(2))) if found else None


class Column(ApiModel):
    """One column of an output table: the contract the run enforces."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.transform) || self.classification == 'identifying'",
                    "message": "a transform maps an identifying column; other classifications "
                    "take no transform",
                },
                {
                    "rule": "!has(self.transform) || self.transform != 'birthYear' "
                    "|| self.type == 'integer'",
                    "message": "transform birthYear writes an integer: set type integer",
                },
                {
                    "rule": "!has(self.transform) || self.transform != 'postcodeArea' "
                    "|| self.type == 'string'",
                    "message": "transform postcodeArea writes a string: set type string",
                },
                {
                    "rule": "self.classification != 'pseudonymised' || self.type == 'string'",
                    "message": "a pseudonymised column is written as a string pseudonym: "
                    "set type string",
                },
            ]
        }
    )

    name: Identifier
    """Column name in the SELECT's result and in the output (`clientObjectId`,
    `beginDate`); compared with the result case-insensitively, as MySQL does."""
    type: ColumnType
    """Output type: string, integer, boolean, double, date, timestamp (microseconds),
    time, json (written as a string), binary or decimal(p,s). For a pseudonymised
    column `string`; for a transform the transform's result type."""
    nullable: bool = True
    """Whether the column may be empty. A NULL in a column declared not nullable
    fails the run."""
    description: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    """What the column means, for the organisation's analysts."""
    classification: Classification
    """identifying, pseudonymised, sensitive or plain (see DataModel docs)."""
    transform: Transform | None = None
    """For an identifying column: the mapping that makes it fit to publish
    (birthYear, postcodeArea). Without one an identifying column is dropped."""
    domain: Identifier | None = None
    """For a pseudonymised column: the kind of thing the identifier names (`client`,
    `employee`). Columns of one domain get the same pseudonym for the same value,
    so they still join across tables. Default: the column name."""

    @property
    def published(self) -> bool:
        """Whether the column appears in the output at all."""
        return self.classification != Classification.IDENTIFYING or self.transform is not None


class Table(ApiModel):
    """One output table: a SELECT over the source schema and its column contract."""

    name: Identifier
    """Table name in the output (file `<name>.parquet`)."""
    description: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    """What one row is, and what the table is for."""
    domain: Identifier | None = None
    """Group of the table in the diagram (the diagram is split by domain when large)."""
    query: Annotated[str, StringConstraints(min_length=1, max_length=65536)]
    """One SELECT (joins and validity logic allowed) over the tenant's schema. Its
    result columns must be exactly `columns`, in that order. Nothing but a single
    SELECT is accepted."""
    columns: Annotated[
        list[Column],
        Field(
            min_length=1,
            max_length=512,
            json_schema_extra={
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            },
        ),
    ]
    """The column contract, in result order."""
    primary_key: Annotated[list[Identifier], Field(max_length=16)] = []
    """Columns that identify a row (documentation and diagram)."""


class RelationEnd(ApiModel):
    """One side of a relation: a table and its columns."""

    table: Identifier
    """Output table name."""
    columns: Annotated[list[Identifier], Field(min_length=1, max_length=16)]
    """Columns of that table."""


class Relation(ApiModel):
    """A declared relation between two output tables (for the diagram and the docs)."""

    name: Identifier
    """Name of the relation."""
    from_: Annotated[RelationEnd, Field(alias="from")]
    """The referencing side (many)."""
    to: RelationEnd
    """The referenced side (one)."""
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    """What the relation means."""


class DataModelSpec(ApiModel):
    """A versioned simplified data model."""

    version: SemVer
    """Semantic version of the model (MAJOR.MINOR.PATCH). A TenantExtraction pins it;
    change it with every change of tables, columns or queries."""
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    """Human title of the model."""
    description: Annotated[str, StringConstraints(max_length=8000)] = ""
    """What the model is for, in a paragraph."""
    tables: Annotated[
        list[Table],
        Field(
            min_length=1,
            max_length=256,
            json_schema_extra={
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            },
        ),
    ]
    """The output tables."""
    relations: Annotated[list[Relation], Field(max_length=1024)] = []
    """Relations between output tables."""
    release_notes: Annotated[str, StringConstraints(max_length=8000)] = ""
    """What changed in this version, in words (the computed changelog adds the
    table and column changes)."""


class ValidationResult(StrEnum):
    VALID = "Valid"
    INVALID = "Invalid"
    UNKNOWN = "Unknown"


class Validation(ApiModel):
    """The last validation of a model (syntax here; against a live server in a
    TenantExtraction's status)."""

    result: ValidationResult = ValidationResult.UNKNOWN
    """Valid, Invalid or Unknown."""
    messages: Annotated[list[str], Field(max_length=200)] = []
    """What is wrong, each naming the table and column."""
    validated_at: Timestamp | None = None
    """When it was validated."""
    version: str | None = None
    """The model version validated."""


class DataModelStatus(ApiModel):
    """Observed state of the model."""

    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """metadata.generation last validated."""
    version: str | None = None
    """The semantic version validated (spec.version)."""
    content_hash: Sha256Hex | None = None
    """SHA-256 of the model's canonical JSON: what a run's manifest records."""
    validation: Validation | None = None
    """The last syntax validation of every SELECT."""
    conditions: Annotated[
        list[Condition],
        Field(
            json_schema_extra={
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
            }
        ),
    ] = []
    """Ready."""


class DataModel(ApiModel):
    """The whole DataModel object."""

    model_config = ConfigDict(extra="ignore")

    metadata: ObjectMeta
    spec: DataModelSpec
    status: DataModelStatus = DataModelStatus()

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> DataModel:
        known = {f.alias or k for k, f in DataModelStatus.model_fields.items()}
        status = {k: v for k, v in dict(body.get("status") or {}).items() if k in known}
        return cls.model_validate(
            {"metadata": dict(body.get("metadata") or {}), "spec": dict(body.get("spec") or {}),
             "status": status}
        )

    @property
    def name(self) -> str:
        return self.metadata.name


def canonical_json(spec: DataModelSpec) -> str:
    """The model as canonical JSON (sorted keys, camelCase): hashed and published."""
    return json.dumps(spec.model_dump(mode="json", by_alias=True), sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)


def content_hash(spec: DataModelSpec) -> str:
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()
