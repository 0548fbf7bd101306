"""The whole `TenantExit` object, and the one place a kopf body becomes a model."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tenant_exit.api import names
from tenant_exit.api.base import ApiModel
from tenant_exit.api.owner import Owner
from tenant_exit.api.policy import ExitPolicy, apply_policy
from tenant_exit.api.spec import TenantExitSpec
from tenant_exit.api.status import TenantExitStatus


class ObjectMeta(BaseModel):
    """The metadata fields the operator reads; the rest is ignored, not refused."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    name: str
    uid: str = ""
    generation: int = 0
    resource_version: str = Field("", alias="resourceVersion")
    creation_timestamp: datetime | None = Field(None, alias="creationTimestamp")
    deletion_timestamp: datetime | None = Field(None, alias="deletionTimestamp")
    annotations: dict[str, str] = {}
    """Read for the operator's own requests (re-delivery, acknowledgements)."""


class TenantExit(ApiModel):
    """A tenant's exit: read-only licence, backup, receipt, deletion."""

    model_config = ConfigDict(extra="ignore")

    api_version: str = names.API_VERSION
    kind: str = names.KIND
    metadata: ObjectMeta
    spec: TenantExitSpec
    status: TenantExitStatus = TenantExitStatus()

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> TenantExit:
        """Validate a kopf body (or any dict of the object); raises pydantic.ValidationError.

        `status` is read leniently: fields another version wrote (and kopf's own
        bookkeeping) must not make an exit unreadable. The spec is the effective one:
        with the defaults of the policy recorded in status.policy (api/policy.py).
        """
        status = TenantExitStatus.model_validate(_known_status(body.get("status") or {}))
        exit = cls.model_validate(
            {
                "metadata": dict(body.get("metadata") or {}),
                "spec": dict(body.get("spec") or {}),
                "status": status,
            }
        )
        return exit if status.policy is None else exit.under(status.policy)

    def under(self, policy: ExitPolicy) -> TenantExit:
        """This exit with `policy`'s defaults in every spec field the user left unset."""
        return self.model_copy(update={"spec": apply_policy(self.spec, policy)})

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def owner(self) -> Owner:
        """What the adapters need of this exit to own, label and report objects."""
        return Owner(api_version=names.API_VERSION, kind=names.KIND, name=self.name,
                     uid=self.metadata.uid, name_label=names.LABEL_EXIT,
                     resource_version=self.metadata.resource_version)


def _known_status(status: Mapping[str, Any]) -> dict[str, Any]:
    known = {field.alias or key for key, field in TenantExitStatus.model_fields.items()}
    return {key: value for key, value in status.items() if key in known}
