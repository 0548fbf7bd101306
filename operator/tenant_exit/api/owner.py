"""The custom resource an adapter acts for, as a small value.

Adapters in `kube/` (owner references, labels, Events, copied Secrets) need the
owner's identity, not its spec, so they take an `Owner` rather than a model:
a second resource (say a TenantExtraction) passes its own and reuses them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Owner:
    api_version: str
    kind: str
    name: str
    uid: str
    name_label: str
    """Label key that names the owner on the objects created for it."""
    resource_version: str = ""
    """As last read; Events quote it (empty: not known)."""
