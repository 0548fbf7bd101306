"""Local volumes: PersistentVolumes backed by directories, claims pre-bound to them.

`provision()` creates a directory, a `local` PV pinned to the process
kubelet's node and a claim naming that PV (`volumeName`); the real PV
controller in kube-controller-manager binds the pair. The PVs carry a
`pv.kubernetes.io/provisioned-by` annotation naming an external provisioner,
so the PV controller leaves their deletion to us (its in-tree hostPath deleter
would otherwise `rm -rf` any Released hostPath PV under a `/tmp/` path), and
a small deleter here plays the external provisioner's part: a Released PV
with reclaim policy Delete loses its directory, then its object. A Retain PV
keeps both, as on a real cluster.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.localcluster.kubelet import NODE_NAME

STORAGE_CLASS = "local-dir"
PROVISIONER = "tenant-exit.test/local-dir"
LABEL = "tenant-exit.test/local-volume"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalVolume:
    pv_name: str
    claim: str
    namespace: str
    path: Path
    reclaim_policy: str


class LocalVolumes:
    """Provisions local PVs under `root_dir`; its deleter thread runs from
    construction (or `start()`) until `stop()`."""

    def __init__(
        self,
        api_client: client.ApiClient,
        root_dir: Path | str,
        node_name: str = NODE_NAME,
        storage_class: str = STORAGE_CLASS,
        *,
        start: bool = True,
        poll_seconds: float = 0.5,
    ) -> None:
        self.core = client.CoreV1Api(api_client)
        self.storage = client.StorageV1Api(api_client)
        self.root_dir = Path(root_dir).resolve()
        self.node_name = node_name
        self.storage_class = storage_class
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    def start(self) -> LocalVolumes:
        self.root_dir.mkdir(parents=True, exist_ok=True)
        self._ensure_storage_class()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._deleter, name="pv-deleter", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _ensure_storage_class(self) -> None:
        body = {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": self.storage_class},
            # No provisioner: every PV of this class is made by provision().
            "provisioner": "kubernetes.io/no-provisioner",
            "volumeBindingMode": "Immediate",
        }
        try:
            self.storage.create_storage_class(body)
        except ApiException as err:
            if err.status != 409:
                raise

    def provision(
        self,
        namespace: str,
        claim: str,
        size: str = "1Gi",
        reclaim_policy: str = "Delete",
        access_modes: Sequence[str] = ("ReadWriteOnce",),
        *,
        wait: bool = True,
        timeout: float = 30.0,
    ) -> LocalVolume:
        """A directory, its PV and the claim `namespace/claim` bound to it. With
        `wait` (default) returns once the PV controller reports both Bound."""
        pv_name = f"local-{uuid.uuid4().hex[:10]}"
        path = self.root_dir / pv_name
        path.mkdir(parents=True)
        path.chmod(0o777)  # pods of any user may write, as with a fresh volume
        self.core.create_persistent_volume({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {
                "name": pv_name,
                "labels": {LABEL: "true"},
                "annotations": {PROVISIONED_BY: PROVISIONER},
            },
            "spec": {
                "capacity": {"storage": size},
                "accessModes": list(access_modes),
                "persistentVolumeReclaimPolicy": reclaim_policy,
                "storageClassName": self.storage_class,
                "volumeMode": "Filesystem",
                "local": {"path": str(path)},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In",
                     "values": [self.node_name]},
                ]}]}},
                # Pre-bound: only this claim may take the volume.
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                             "namespace": namespace, "name": claim},
            },
        })
        self.core.create_namespaced_persistent_volume_claim(namespace, {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim},
            "spec": {
                "accessModes": list(access_modes),
                "resources": {"requests": {"storage": size}},
                "storageClassName": self.storage_class,
                "volumeName": pv_name,
            },
        })
        volume = LocalVolume(pv_name, claim, namespace, path, reclaim_policy)
        if wait:
            self.wait_bound(volume, timeout)
        return volume

    def wait_bound(self, volume: LocalVolume, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        phase = None
        while time.monotonic() < deadline:
            pvc = self.core.read_namespaced_persistent_volume_claim(
                volume.claim, volume.namespace
            )
            phase = pvc.status.phase
            if phase == "Bound":
                return
            time.sleep(0.2)
        raise TimeoutError(
            f"claim {volume.namespace}/{volume.claim} not Bound to {volume.pv_name}"
            f" after {timeout:.0f}s (phase {phase})"
        )

    # -- the deleter -----------------------------------------------------
    def _deleter(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.reclaim()
            except Exception:  # keep deleting through apiserver hiccups
                log.exception("PV deleter pass failed")

    def reclaim(self) -> list[str]:
        """One deleter pass: the names of the PVs it deleted."""
        deleted = []
        for pv in self.core.list_persistent_volume(label_selector=f"{LABEL}=true").items:
            if self._reclaimable(pv):
                self._delete(pv)
                deleted.append(pv.metadata.name)
        return deleted

    def _reclaimable(self, pv: Any) -> bool:
        # Failed too: a Released volume whose deletion failed once is retried.
        return bool(
            pv.spec.persistent_volume_reclaim_policy == "Delete"
            and pv.status.phase in ("Released", "Failed")
            and (pv.metadata.annotations or {}).get(PROVISIONED_BY) == PROVISIONER
            and pv.spec.local is not None
            and pv.metadata.deletion_timestamp is None
        )

    def _delete(self, pv: Any) -> None:
        path = Path(pv.spec.local.path).resolve()
        # Only directories this instance made: another harness may share the cluster.
        if path.parent != self.root_dir:
            return
        shutil.rmtree(path, ignore_errors=True)
        try:
            self.core.delete_persistent_volume(pv.metadata.name)
        except ApiException as err:
            if err.status != 404:
                raise
        log.info("deleted released PV %s and %s", pv.metadata.name, path)
