"""Reading TenantExitClasses (cluster-scoped; the operator never writes them)."""

from __future__ import annotations

import logging

from kubernetes import client
from pydantic import ValidationError

from tenant_exit.api import names
from tenant_exit.api.exit_class import TenantExitClass

log = logging.getLogger(__name__)


def list_classes(custom: client.CustomObjectsApi) -> list[TenantExitClass]:
    """Every class that validates; the one an exit names, or the default class, is
    chosen from these. One that does not validate (another version's fields) is left
    out, so an exit naming it waits as for a missing class."""
    listing = custom.list_cluster_custom_object(names.GROUP, names.VERSION, names.CLASS_PLURAL)
    found = []
    for body in listing.get("items", []):
        try:
            found.append(TenantExitClass.from_body(body))
        except ValidationError as error:
            log.warning("TenantExitClass %s does not validate (%d problems); ignored",
                        (body.get("metadata") or {}).get("name"), error.error_count())
    return found
