"""The Secret that hands the customer's contact the presigned download links.

Presigned URLs are bearer credentials, so they live only in this Secret in the
operator's namespace (never in status, events or logs); status names the Secret.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from kubernetes import client
from kubernetes.client import models as k

from tenant_exit.api.owner import Owner
from tenant_exit.kube.errors import tolerate
from tenant_exit.kube.ownership import owned_labels
from tenant_exit.kube.secrets import put_secret

LINKS_KEY = "links.json"


def links_secret_name(exit_name: str) -> str:
    return f"{exit_name}-download-links"


def write_links(core: client.CoreV1Api, namespace: str, owner: Owner,
                links: list[dict[str, Any]], expires_at: datetime) -> str:
    """Create or replace the Secret; returns `namespace/name`."""
    name = links_secret_name(owner.name)
    body = k.V1Secret(
        metadata=k.V1ObjectMeta(name=name, namespace=namespace,
                                labels=owned_labels(owner, "download-links")),
        type="Opaque",
        string_data={
            LINKS_KEY: json.dumps({"expiresAt": expires_at.isoformat(), "objects": links},
                                  indent=2),
            "expiresAt": expires_at.isoformat(),
        },
    )
    put_secret(core, namespace, body)
    return f"{namespace}/{name}"


def delete_links(core: client.CoreV1Api, namespace: str, exit_name: str) -> None:
    with tolerate(404):
        core.delete_namespaced_secret(links_secret_name(exit_name), namespace)
