"""Namespaces, claims and volumes mirrored by watches, for the reads every pass makes.

`ClusterCache.guards` answers what `guards.read_guards` reads from the API (the
namespace, its claims, their volumes), from memory. It serves only the decision
that a pass has nothing to do; a pass that acts reads the API again
(reconcile/passes.py). The watches are cluster-wide: tenant namespaces are not
known in advance, and one watch per kind costs less than one per exit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from kubernetes import client

from tenant_exit.api import names
from tenant_exit.kube import volumes
from tenant_exit.kube.guards import NamespaceGuards
from tenant_exit.kube.informer import Informer, Source


class NotCached(Exception):
    """The mirror cannot answer now (not listed yet, or its watch broke): read the API."""


@dataclass(frozen=True)
class _Claim:
    uid: str
    volume_name: str | None


def _namespace(raw: dict[str, Any]) -> NamespaceGuards:
    """The namespace's part of its guards; `guards` adds the volumes on each read."""
    meta = raw["metadata"]
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    return NamespaceGuards(
        name=meta["name"],
        uid=meta["uid"],
        terminating=meta.get("deletionTimestamp") is not None,
        exit=labels.get(names.LABEL_EXIT),
        deletion=labels.get(names.LABEL_DELETION),
        phase=annotations.get(names.ANNOTATION_PHASE),
        has_finalizer=names.NAMESPACE_FINALIZER in (meta.get("finalizers") or []),
        volumes=(),
    )


def _claim(raw: dict[str, Any]) -> _Claim:
    return _Claim(uid=raw["metadata"]["uid"],
                  volume_name=(raw.get("spec") or {}).get("volumeName") or None)


def _namespace_of(raw: dict[str, Any]) -> str:
    return str(raw["metadata"].get("namespace", ""))


class ClusterCache:
    def __init__(self, core: client.CoreV1Api) -> None:
        """`core` should have its own ApiClient: each watch holds a pooled connection
        for as long as it runs, which the handler threads' pool cannot spare."""
        self.namespaces: Informer[NamespaceGuards] = Informer(Source(
            kind="namespaces",
            list=lambda: core.list_namespace(_preload_content=False),
            watch=lambda rv, timeout, request: core.list_namespace(
                watch=True, resource_version=rv, allow_watch_bookmarks=True,
                timeout_seconds=timeout, _request_timeout=request, _preload_content=False),
            project=_namespace))
        self.claims: Informer[_Claim] = Informer(Source(
            kind="persistentvolumeclaims",
            list=lambda: core.list_persistent_volume_claim_for_all_namespaces(
                _preload_content=False),
            watch=lambda rv, timeout, request: (
                core.list_persistent_volume_claim_for_all_namespaces(
                    watch=True, resource_version=rv, allow_watch_bookmarks=True,
                    timeout_seconds=timeout, _request_timeout=request,
                    _preload_content=False)),
            project=_claim, group=_namespace_of))
        # Grouped by the namespace their claimRef names; a PV no claim UID refers to
        # is kept as None (it is nobody's tenant volume).
        self.volumes: Informer[tuple[str, volumes.TenantVolume] | None] = Informer(Source(
            kind="persistentvolumes",
            list=lambda: core.list_persistent_volume(_preload_content=False),
            watch=lambda rv, timeout, request: core.list_persistent_volume(
                watch=True, resource_version=rv, allow_watch_bookmarks=True,
                timeout_seconds=timeout, _request_timeout=request, _preload_content=False),
            project=volumes.volume_from_raw))
        self._all = (self.namespaces, self.claims, self.volumes)

    def start(self, wait_seconds: float = 0.0) -> ClusterCache:
        """Start the watches; wait up to `wait_seconds` for their first LIST."""
        for informer in self._all:
            informer.start()
        deadline = time.monotonic() + wait_seconds
        while not self.fresh and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        for informer in self._all:
            informer.stop()

    @property
    def fresh(self) -> bool:
        return all(informer.fresh for informer in self._all)

    def guards(self, namespace: str) -> NamespaceGuards | None:
        """`guards.read_guards(core, namespace)` from memory; raises NotCached."""
        if not self.fresh:
            raise NotCached(namespace)
        ns = self.namespaces.get(namespace)
        if ns is None:
            return None
        found = []
        for claim in self.claims.in_group(namespace):
            seen = self.volumes.get(claim.volume_name) if claim.volume_name else None
            if seen is None:
                continue
            ref_namespace, volume = seen
            if volume.claim_uid == claim.uid and ref_namespace == namespace:
                found.append(volume)
        return replace(ns, volumes=tuple(sorted(found, key=lambda v: v.persistent_volume)))
