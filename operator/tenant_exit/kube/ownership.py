"""How the objects the operator creates point back at their owner.

Shared by every adapter that creates objects (Jobs, copied Secrets, revert
records, download links) for whichever custom resource owns them.
"""

from __future__ import annotations

from kubernetes.client import models as k

from tenant_exit.api import names
from tenant_exit.api.owner import Owner


def owner_reference(owner: Owner) -> k.V1OwnerReference:
    # A namespaced dependent may have a cluster-scoped owner (not the reverse):
    # deleting the owner garbage-collects its Jobs and copied Secrets.
    return k.V1OwnerReference(
        api_version=owner.api_version,
        kind=owner.kind,
        name=owner.name,
        uid=owner.uid,
        controller=True,
        block_owner_deletion=True,
    )


def owned_labels(owner: Owner, component: str) -> dict[str, str]:
    """Labels naming the owner and the object's part in its work."""
    return {
        owner.name_label: owner.name,
        names.LABEL_COMPONENT: component,
        names.LABEL_MANAGED_BY: names.MANAGED_BY,
    }
