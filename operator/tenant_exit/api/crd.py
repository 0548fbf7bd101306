"""The CustomResourceDefinitions, generated from the pydantic models.

One `CrdSource` per resource; each becomes `crds/<group>_<plural>.yaml`
(`tenant-exit crd --out-dir crds`), and a unit test per file fails when the
checked-in one is stale. A second resource is one more entry in `RESOURCES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from tenant_exit.api import datamodel, exit_class, extraction, extraction_crd, names
from tenant_exit.api.schema import structural
from tenant_exit.api.spec import TenantExitSpec
from tenant_exit.api.status import TenantExitStatus

# The backup Job is named `<exit>-backup-<attempt>` and Job names become a
# label value (max 63 characters), so the exit's name must leave room.
MAX_NAME_LENGTH = 48

PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Tenant", "type": "string", "jsonPath": ".spec.tenantNamespace"},
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Backup size", "type": "string", "jsonPath": ".status.backup.size"},
    {"name": "Receipt", "type": "date", "jsonPath": ".status.receipt.confirmedAt"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def openapi_schema() -> dict[str, Any]:
    # Fields a TenantExitClass may default carry no CRD default: the server must leave
    # them unset so the class's value can apply (api/policy.py).
    spec = structural(TenantExitSpec.model_json_schema(by_alias=True, mode="validation"),
                      class_defaults=True)
    status = structural(
        TenantExitStatus.model_json_schema(by_alias=True, mode="validation"),
        keep_defaults=False,
    )
    return {
        "type": "object",
        "description": (
            "A tenant's exit: an optional read-only licence, a complete encrypted backup "
            "for the legal retention duty, the customer's receipt, and the one-time "
            "deletion of the tenant. The backup is an archive, never a way to restore "
            "the application."
        ),
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
        "x-kubernetes-validations": [
            {
                "rule": f"size(self.metadata.name) <= {MAX_NAME_LENGTH}",
                "message": (
                    f"metadata.name must be at most {MAX_NAME_LENGTH} characters "
                    "so the backup Job's name fits"
                ),
            },
            {
                # Until the grace period has passed a receipt may be withdrawn or
                # corrected; once the irreversible step began it is the record.
                "rule": (
                    "!has(oldSelf.status) || !has(oldSelf.status.phase) || "
                    "!(oldSelf.status.phase in ['Deleting', 'Deleted']) || "
                    "(has(self.spec.receipt) == has(oldSelf.spec.receipt) && "
                    "(!has(self.spec.receipt) || self.spec.receipt == oldSelf.spec.receipt))"
                ),
                "message": "spec.receipt is final once the exit is Deleting or Deleted",
            },
        ],
    }


@dataclass(frozen=True)
class CrdSource:
    """What one CustomResourceDefinition is generated from."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    scope: str
    schema: Callable[[], dict[str, Any]]
    """The openAPIV3Schema, built from the resource's models."""
    printer_columns: tuple[dict[str, Any], ...] = ()
    status_subresource: bool = True
    """False for a resource without a status (a class is configuration only)."""
    selectable_fields: tuple[str, ...] = ()
    """JSON paths a list may filter on server-side (`fieldSelector`)."""

    @property
    def name(self) -> str:
        return f"{self.plural}.{self.group}"

    @property
    def file_name(self) -> str:
        """Its file in `crds/` (and the chart's `crds/`)."""
        return f"{self.group}_{self.plural}.yaml"


TENANT_EXIT = CrdSource(
    group=names.GROUP, version=names.VERSION, kind=names.KIND, plural=names.PLURAL,
    singular=names.SINGULAR, short_names=(names.SHORT_NAME,), scope="Cluster",
    schema=openapi_schema, printer_columns=tuple(PRINTER_COLUMNS),
    # A new exit looks for rivals for its namespace (phases.guards.rivals): the
    # API server filters on this field, so that look-up costs one exit's worth
    # of bytes, not a list of every exit (O(N^2) over N first passes).
    selectable_fields=(".spec.tenantNamespace",),
)

# The periodic extraction (docs/extraction.md).
DATAMODEL = CrdSource(
    group=names.GROUP, version=names.VERSION, kind=datamodel.KIND,
    plural=names.DATAMODEL_PLURAL, singular=datamodel.SINGULAR,
    short_names=(datamodel.SHORT_NAME,), scope="Cluster",
    schema=extraction_crd.datamodel_schema, printer_columns=extraction_crd.DATAMODEL_COLUMNS,
)
TENANT_EXTRACTION = CrdSource(
    group=names.GROUP, version=names.VERSION, kind=extraction.KIND,
    plural=names.EXTRACTION_PLURAL, singular=extraction.SINGULAR,
    short_names=(extraction.SHORT_NAME,), scope="Cluster",
    schema=extraction_crd.extraction_schema, printer_columns=extraction_crd.EXTRACTION_COLUMNS,
)

# The platform's defaults and limits (api/exit_class.py).
TENANT_EXIT_CLASS = CrdSource(
    group=names.GROUP, version=names.VERSION, kind=exit_class.KIND, plural=exit_class.PLURAL,
    singular=exit_class.SINGULAR, short_names=(exit_class.SHORT_NAME,), scope="Cluster",
    schema=exit_class.class_schema, printer_columns=exit_class.CLASS_COLUMNS,
    status_subresource=False,
)

RESOURCES: tuple[CrdSource, ...] = (TENANT_EXIT, DATAMODEL, TENANT_EXTRACTION, TENANT_EXIT_CLASS)
"""Every CRD the operator serves, each generated into its own file."""


def build_crd(source: CrdSource = TENANT_EXIT) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": source.name},
        "spec": {
            "group": source.group,
            "scope": source.scope,
            "names": {
                "kind": source.kind,
                "listKind": f"{source.kind}List",
                "plural": source.plural,
                "singular": source.singular,
                "shortNames": list(source.short_names),
            },
            "versions": [
                {
                    "name": source.version,
                    "served": True,
                    "storage": True,
                    **({"subresources": {"status": {}}} if source.status_subresource else {}),
                    "additionalPrinterColumns": list(source.printer_columns),
                    **({"selectableFields": [{"jsonPath": path}
                                             for path in source.selectable_fields]}
                       if source.selectable_fields else {}),
                    "schema": {"openAPIV3Schema": source.schema()},
                }
            ],
        },
    }


def render_crd_yaml(source: CrdSource = TENANT_EXIT) -> str:
    header = "# Generated by `tenant-exit crd` from tenant_exit/api; do not edit.\n"
    return header + yaml.safe_dump(build_crd(source), sort_keys=False, width=100)


def rendered_files() -> dict[str, str]:
    """File name in `crds/` -> its generated content, one per resource."""
    return {source.file_name: render_crd_yaml(source) for source in RESOURCES}
