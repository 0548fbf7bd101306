"""Kubernetes Events on the TenantExit, so `kubectl describe texit` tells the story.

A cluster-scoped object's Events live in the `default` namespace (the API
server refuses any other for a namespace-less involvedObject)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from kubernetes import client
from kubernetes.client import models as k

from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit

log = logging.getLogger(__name__)
COMPONENT = "tenant-exit-operator"


def post_event(
    core: client.CoreV1Api, namespace: str, exit: TenantExit, type: str, reason: str, message: str
) -> None:
    now = datetime.now(UTC)
    event = k.CoreV1Event(
        metadata=k.V1ObjectMeta(generate_name=f"{exit.name}.", namespace=namespace),
        involved_object=k.V1ObjectReference(
            api_version=names.API_VERSION,
            kind=names.KIND,
            name=exit.name,
            uid=exit.metadata.uid,
            resource_version=exit.metadata.resource_version or None,
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
    try:
        core.create_namespaced_event(namespace, event)
    except client.ApiException as error:
        # An Event is a courtesy; failing to post one must not fail the exit.
        log.warning("could not post event %s on %s: HTTP %s", reason, exit.name, error.status)
