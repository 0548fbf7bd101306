"""The exit's spec as the operator acts on it: with the defaults of the TenantExitClass
terms recorded in status.policy (a class-based exit may name no bucket or exclusions
of its own)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from tenant_exit.api.resource import TenantExit


def effective_spec(exit: dict[str, Any]) -> dict[str, Any]:
    """The effective spec as camelCase JSON; the stored one if it does not validate
    (the plugin still shows what it can)."""
    try:
        model = TenantExit.from_body(exit)
    except ValidationError:
        return dict(exit.get("spec") or {})
    spec: dict[str, Any] = model.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    return spec
