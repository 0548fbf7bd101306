"""Kubernetes Events on the owning resource, so `kubectl describe texit` tells the story.

A cluster-scoped object's Events live in the `default` namespace (the API
server refuses any other for a namespace-less involvedObject)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from kubernetes import client
from kubernetes.client import models as k

from tenant_exit.api.owner import Owner

log = logging.getLogger(__name__)
COMPONENT = "tenant-exit-operator"


def post_event(
    core: client.CoreV1Api, namespace: str, owner: Owner, type: str, reason: str, message: str
) -> None:
    event = build_event(namespace, owner, type, reason, message, datetime.now(UTC))
    try:
        core.create_namespaced_event(namespace, event)
    except client.ApiException as error:
        # An Event is a courtesy; failing to post one must not fail the exit.
        log.warning("could not post event %s on %s %s: HTTP %s", reason, owner.kind, owner.name,
                    error.status)


def build_event(namespace: str, owner: Owner, type: str, reason: str, message: str,
                now: datetime) -> k.CoreV1Event:
    """The Event about `owner` (pure)."""
    return k.CoreV1Event(
        metadata=k.V1ObjectMeta(generate_name=f"{owner.name}.", namespace=namespace),
        involved_object=k.V1ObjectReference(
            api_version=owner.api_version,
            kind=owner.kind,
            name=owner.name,
            uid=owner.uid,
            resource_version=owner.resource_version or None,
        ),
        type=type,
        reason=reason,
        message=message[:1024],
        source=k.V1EventSource(component=COMPONENT),
        reporting_component=COMPONENT,
        reporting_instance=COMPONENT,
        first_timestamp=now,
        last_timestamp=now,
        count=1,
    )
