"""`TenantExitClass`: a platform's defaults and limits for the exits that name it.

Cluster-scoped, like StorageClass: an exit names its class in `spec.className`;
an exit that names none gets the class annotated
`tenantexit.io/is-default-class: "true"` (if there is exactly one). A class gives
defaults (destination, exclusions, grace period, language, write freeze, link
lifetime) and limits an exit may tighten but not loosen (minimum grace period,
credential namespaces, platform keys in the tenant namespace, post-quantum
recipients, restore verification). The
limits are enforced at admission (api/class_admission.py) and again by the
operator against the terms it recorded (api/policy.py), so a class edited later
changes no exit already running.

Docstrings are `kubectl explain tenantexitclass.spec` text.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field

from tenant_exit.api import names
from tenant_exit.api.base import ApiModel
from tenant_exit.api.spec import (
    DatabaseReadOnlyMode,
    ExcludeGlob,
    Language,
    PathGlob,
    S3Destination,
    cel,
    validations,
)
from tenant_exit.api.types import GoDuration, NamespaceName

KIND: Final = "TenantExitClass"
PLURAL: Final = names.CLASS_PLURAL
SINGULAR: Final = "tenantexitclass"
SHORT_NAME: Final = "texitclass"
DEFAULT_CLASS_ANNOTATION: Final = f"{names.GROUP}/is-default-class"
"""Set to "true" on the class an exit without spec.className gets (as StorageClass's
`storageclass.kubernetes.io/is-default-class`)."""


class RestoreVerificationMode(StrEnum):
    """How strictly the backup must be proven to load before receipt (issue 13):
    Required (no receipt without a passed restore check), BestEffort (run it, report
    a failure, do not block) or Off. Ordered: Required > BestEffort > Off."""

    REQUIRED = "Required"
    BEST_EFFORT = "BestEffort"
    OFF = "Off"


RESTORE_STRENGTH: Final = {
    RestoreVerificationMode.OFF: 0,
    RestoreVerificationMode.BEST_EFFORT: 1,
    RestoreVerificationMode.REQUIRED: 2,
}


class ClassDeletion(ApiModel):
    """The grace period between receipt and the irreversible deletion."""

    model_config = ConfigDict(json_schema_extra=validations(cel(
        "!has(self.minimumGracePeriod) || !has(self.defaultGracePeriod) || "
        "duration(self.defaultGracePeriod) >= duration(self.minimumGracePeriod)",
        "deletion.defaultGracePeriod must not be shorter than deletion.minimumGracePeriod",
    )))

    minimum_grace_period: GoDuration | None = None
    """No exit of this class may set a shorter spec.deletion.gracePeriod (Go duration)."""
    default_grace_period: GoDuration | None = None
    """spec.deletion.gracePeriod of an exit that sets none (built-in default: 72h)."""


class ClassExclusions(ApiModel):
    """What an exit that sets no exclusions of its own leaves out of the backup."""

    tables: Annotated[list[ExcludeGlob], Field(max_length=256)] | None = None
    """`schema.table` globs: spec.database.excludeTables of an exit that sets none."""
    paths: Annotated[list[PathGlob], Field(max_length=256)] | None = None
    """Globs relative to a volume's root: spec.documents[].exclude of a volume that
    sets none."""


class ClassVerification(ApiModel):
    """Proof before receipt."""

    restore: RestoreVerificationMode | None = None
    """Least restore verification an exit of this class may ask for, and the default of
    one that asks for none (spec.verification.restore)."""


class ClassEncryption(ApiModel):
    """What the customer's keys must be."""

    require_post_quantum: bool = False
    """Refuse exits whose spec.destination.encryption.ageRecipients are not all
    post-quantum (`age1pq1...`, from `age-keygen -pq`)."""


class TenantExitClassSpec(ApiModel):
    """Defaults and limits for the TenantExits that name this class."""

    # The class's own destination is the default of every exit that sets none; it may
    # not ask for what the class refuses its exits (an exit taking it would be stalled).
    model_config = ConfigDict(json_schema_extra=validations(cel(
        "!has(self.destination) || !has(self.destination.uploadCredentials) || "
        "self.destination.uploadCredentials != 'PlatformKeys' || "
        "(has(self.allowPlatformKeys) && self.allowPlatformKeys)",
        "destination.uploadCredentials PlatformKeys needs allowPlatformKeys: true",
    )))

    destination: S3Destination | None = None
    """The bucket, prefix and credentials of an exit that sets no spec.destination.s3.
    The customer's recipients stay on the exit (spec.destination.encryption)."""
    allowed_credential_namespaces: Annotated[
        list[NamespaceName], Field(max_length=32,
                                   json_schema_extra={"x-kubernetes-list-type": "set"})
    ] | None = None
    """Namespaces an exit's spec.destination.s3.credentialsSecret may be in (the
    operator's own settings still bound them). Empty: as the operator allows."""
    allow_platform_keys: bool = False
    """Let an exit of this class set spec.destination.s3.uploadCredentials PlatformKeys,
    which puts a copy of credentialsSecret's keys (usually bucket-wide) in the tenant
    namespace. Off by default: exits get session credentials scoped to their folder.
    Turn it on only for a store without STS, with a per-exit key (docs/security.md)."""
    exclusions: ClassExclusions | None = None
    """Default table and path exclusions."""
    deletion: ClassDeletion | None = None
    """Minimum and default grace period."""
    write_freeze: DatabaseReadOnlyMode | None = None
    """How writes are stopped while the backup runs (spec.readOnly.database): the
    default, and — unless None — the least an exit may ask for (an exit may not set
    None). An exit without spec.readOnly gets this freeze with no licence period."""
    verification: ClassVerification | None = None
    """Restore verification before receipt."""
    download_link_lifetime: Annotated[GoDuration, Field(json_schema_extra=validations(cel(
        "duration(self) >= duration('1m') && duration(self) <= duration('168h')",
        "downloadLinkLifetime must be between 1m and 168h (S3 SigV4 links last at most "
        "7 days)",
    )))] | None = None
    """How long the customer's presigned download links are valid (renewed while the
    exit waits for the receipt). Empty: the operator's setting."""
    encryption: ClassEncryption | None = None
    """Requirements on the customer's keys."""
    customer_language: Language | None = None
    """spec.customer.language of an exit that sets none (nl or en)."""


class ClassMeta(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    name: str
    uid: str = ""
    generation: int = 0
    annotations: dict[str, str] = {}


class TenantExitClass(ApiModel):
    """A class as read from the cluster."""

    model_config = ConfigDict(extra="ignore")

    metadata: ClassMeta
    spec: TenantExitClassSpec = TenantExitClassSpec()

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> TenantExitClass:
        return cls.model_validate({"metadata": body.get("metadata") or {},
                                   "spec": body.get("spec") or {}})

    @property
    def is_default(self) -> bool:
        return self.metadata.annotations.get(DEFAULT_CLASS_ANNOTATION) == "true"


def class_schema() -> dict[str, Any]:
    from tenant_exit.api.schema import structural

    spec = structural(TenantExitClassSpec.model_json_schema(by_alias=True, mode="validation"))
    return {
        "type": "object",
        "description": (
            "A platform's defaults and limits for TenantExits: destination, exclusions, "
            "grace period, credential namespaces, platform keys, write freeze, restore "
            "verification, link lifetime, post-quantum keys. An exit names it in "
            "spec.className (or gets "
            f"the class annotated {DEFAULT_CLASS_ANNOTATION}: \"true\"); the terms are "
            "copied into the exit's status.policy when it starts, so editing a class "
            "changes only exits created afterwards."
        ),
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
        },
    }


CLASS_COLUMNS: tuple[dict[str, Any], ...] = (
    {"name": "Bucket", "type": "string", "jsonPath": ".spec.destination.bucket"},
    {"name": "Min grace", "type": "string", "jsonPath": ".spec.deletion.minimumGracePeriod"},
    {"name": "Freeze", "type": "string", "jsonPath": ".spec.writeFreeze"},
    {"name": "Default", "type": "string",
     "jsonPath": ".metadata.annotations.tenantexit\\.io/is-default-class"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
)
