"""Pod volumes of the process kubelet as local directories.

A container here is a local process, so a volume is a directory it can reach:
a claim is the directory behind its bound PV (``local.path`` or
``hostPath.path``), ``emptyDir`` a fresh directory of the pod, and Secrets,
ConfigMaps, downward API and projected volumes are files written into one.
Read-only mounts are not enforced (a process shares our filesystem view); a
pod that writes to a read-only mount here would fail on a real node.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.localcluster.podenv import ConfigError, field_value, resource_field_value


class UnsupportedVolume(Exception):
    """A volume type the process kubelet cannot provide; retrying will not help."""


class NamespaceObjects:
    """Secrets and ConfigMaps of one namespace, each read at most once per pod start."""

    def __init__(self, core: client.CoreV1Api, namespace: str) -> None:
        self._core, self._ns = core, namespace
        self._secrets: dict[str, Mapping[str, bytes] | None] = {}
        self._config_maps: dict[str, Mapping[str, str] | None] = {}

    def secret(self, name: str) -> Mapping[str, bytes] | None:
        if name not in self._secrets:
            found = _read(lambda: self._core.read_namespaced_secret(name, self._ns))
            self._secrets[name] = (
                None if found is None
                else {k: base64.b64decode(v) for k, v in (found.data or {}).items()}
            )
        return self._secrets[name]

    def config_map(self, name: str) -> Mapping[str, str] | None:
        if name not in self._config_maps:
            found = _read(lambda: self._core.read_namespaced_config_map(name, self._ns))
            self._config_maps[name] = None if found is None else dict(found.data or {})
        return self._config_maps[name]

    def config_map_files(self, name: str) -> Mapping[str, bytes] | None:
        """A ConfigMap as volume content: `data` and `binaryData` together."""
        found = _read(lambda: self._core.read_namespaced_config_map(name, self._ns))
        if found is None:
            return None
        files = {k: v.encode() for k, v in (found.data or {}).items()}
        files.update({k: base64.b64decode(v) for k, v in (found.binary_data or {}).items()})
        return files


def _read(call: Any) -> Any:
    try:
        return call()
    except ApiException as err:
        if err.status == 404:
            return None
        raise


def _write(directory: Path, relative: str, content: bytes, mode: int | None) -> None:
    # Replaced by rename, as kubelet's atomic writer swaps a volume's files: a
    # reader sees the old file or the new one, never half of one.
    target = directory / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.tmp")
    staged.write_bytes(content)
    staged.chmod(mode if mode is not None else 0o644)
    staged.replace(target)


def refresh_secret_volumes(pod: Any, paths: Mapping[str, Path],
                           objects: NamespaceObjects) -> None:
    """Rewrite the running pod's Secret volumes from the Secrets now, as kubelet's
    periodic sync does (which is why a renewed credential reaches a running pod
    through a volume but not through env). A Secret gone meanwhile keeps its files."""
    for volume in pod.spec.volumes or []:
        src = volume.secret
        if src is None or volume.name not in paths:
            continue
        data = objects.secret(src.secret_name)
        if data is None:
            continue
        _write_keys(paths[volume.name], f'secret "{src.secret_name}"', data, src.items,
                    True, src.default_mode)


def _write_keys(
    directory: Path,
    what: str,
    data: Mapping[str, bytes] | None,
    items: list[Any] | None,
    optional: bool | None,
    default_mode: int | None,
) -> None:
    if data is None:
        if optional:
            return
        raise ConfigError(f"{what} not found")
    if not items:
        for key, value in data.items():
            _write(directory, key, value, default_mode)
        return
    for item in items:
        if item.key not in data:
            if optional:
                continue
            raise ConfigError(f"key {item.key} not found in {what}")
        _write(directory, item.path, data[item.key], item.mode or default_mode)


def _downward_file(pod: Any, item: Any, allocatable: Mapping[str, str]) -> bytes:
    if item.field_ref is not None:
        path = item.field_ref.field_path
        if path in ("metadata.labels", "metadata.annotations"):
            values = (pod.metadata.labels if path.endswith("labels") else
                      pod.metadata.annotations) or {}
            return "".join(f'{k}="{v}"\n' for k, v in sorted(values.items())).encode()
        return field_value(pod, path).encode()
    ref = item.resource_field_ref
    container = next(c for c in pod.spec.containers if c.name == ref.container_name)
    return resource_field_value(container, ref.resource, ref.divisor, allocatable).encode()


def _write_downward(
    directory: Path, pod: Any, items: list[Any] | None, mode: int | None,
    allocatable: Mapping[str, str],
) -> None:
    for item in items or []:
        _write(directory, item.path, _downward_file(pod, item, allocatable), item.mode or mode)


def _token(core: client.CoreV1Api, pod: Any, source: Any) -> bytes:
    """A bound service-account token from the TokenRequest API, like the
    kubelet's projected `serviceAccountToken` source."""
    spec: dict[str, Any] = {
        "expirationSeconds": source.expiration_seconds or 3600,
        "boundObjectRef": {
            "apiVersion": "v1", "kind": "Pod", "name": pod.metadata.name, "uid": pod.metadata.uid,
        },
    }
    if source.audience:
        spec["audiences"] = [source.audience]
    result = core.create_namespaced_service_account_token(
        pod.spec.service_account_name or "default", pod.metadata.namespace, {"spec": spec}
    )
    return str(result.status.token).encode()


MEMORY_PREFIX = "te-mem-"


def _memory_volume(directory: Path) -> Path:
    """An emptyDir of medium Memory (tmpfs on a node): a short directory under the
    system's temp dir, so unix sockets in it fit sun_path (108 bytes), which a
    path below the pod's directory often does not. `release_memory_volumes` removes
    it with the pod, as a node unmounts the tmpfs. The pod's own directory gets a
    link to it for inspection."""
    short = Path(tempfile.mkdtemp(prefix=MEMORY_PREFIX))
    link = directory / "tmpfs"
    if not link.exists():
        link.symlink_to(short)
    return short


def release_memory_volumes(paths: Mapping[str, Path]) -> None:
    for path in paths.values():
        if path.name.startswith(MEMORY_PREFIX) and path.parent == Path(tempfile.gettempdir()):
            shutil.rmtree(path, ignore_errors=True)


def prepare_volumes(
    core: client.CoreV1Api,
    pod: Any,
    pod_dir: Path,
    objects: NamespaceObjects,
    allocatable: Mapping[str, str],
) -> dict[str, Path]:
    """Volume name -> the local path a mount of it resolves to. Raises
    ConfigError for what may still appear (a missing Secret, an unbound claim)
    and UnsupportedVolume for what never will."""
    paths: dict[str, Path] = {}
    ns = pod.metadata.namespace
    for volume in pod.spec.volumes or []:
        directory = pod_dir / "volumes" / volume.name
        if volume.persistent_volume_claim is not None:
            paths[volume.name] = _claim_path(core, ns, volume.persistent_volume_claim.claim_name)
            continue
        if volume.host_path is not None:
            path = Path(volume.host_path.path)
            if volume.host_path.type == "DirectoryOrCreate":
                path.mkdir(parents=True, exist_ok=True)
            elif volume.host_path.type == "FileOrCreate":
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch(exist_ok=True)
            paths[volume.name] = path
            continue
        directory.mkdir(parents=True, exist_ok=True)
        paths[volume.name] = directory
        if volume.empty_dir is not None:
            if volume.empty_dir.medium == "Memory":
                paths[volume.name] = _memory_volume(directory)
            continue
        if volume.secret is not None:
            src = volume.secret
            _write_keys(directory, f'secret "{src.secret_name}"', objects.secret(src.secret_name),
                        src.items, src.optional, src.default_mode)
        elif volume.config_map is not None:
            src = volume.config_map
            _write_keys(directory, f'configmap "{src.name}"', objects.config_map_files(src.name),
                        src.items, src.optional, src.default_mode)
        elif volume.downward_api is not None:
            _write_downward(directory, pod, volume.downward_api.items,
                            volume.downward_api.default_mode, allocatable)
        elif volume.projected is not None:
            _write_projected(core, pod, directory, objects, volume.projected, allocatable)
        else:
            kinds = [k for k, v in volume.to_dict().items() if v is not None and k != "name"]
            raise UnsupportedVolume(
                f"volume {volume.name!r} of type {kinds} is not supported by the process kubelet"
            )
    return paths


def _write_projected(
    core: client.CoreV1Api, pod: Any, directory: Path, objects: NamespaceObjects,
    projected: Any, allocatable: Mapping[str, str],
) -> None:
    mode = projected.default_mode
    for source in projected.sources or []:
        if source.secret is not None:
            src = source.secret
            _write_keys(directory, f'secret "{src.name}"', objects.secret(src.name),
                        src.items, src.optional, mode)
        elif source.config_map is not None:
            src = source.config_map
            _write_keys(directory, f'configmap "{src.name}"', objects.config_map_files(src.name),
                        src.items, src.optional, mode)
        elif source.downward_api is not None:
            _write_downward(directory, pod, source.downward_api.items, mode, allocatable)
        elif source.service_account_token is not None:
            src = source.service_account_token
            _write(directory, src.path, _token(core, pod, src), 0o600)


def _claim_path(core: client.CoreV1Api, namespace: str, claim: str) -> Path:
    pvc = _read(lambda: core.read_namespaced_persistent_volume_claim(claim, namespace))
    if pvc is None:
        raise ConfigError(f'persistentvolumeclaim "{claim}" not found')
    if pvc.status.phase != "Bound" or not pvc.spec.volume_name:
        raise ConfigError(f'persistentvolumeclaim "{claim}" is not bound')
    pv = core.read_persistent_volume(pvc.spec.volume_name)
    source = pv.spec.local or pv.spec.host_path
    if source is None:
        raise UnsupportedVolume(
            f"persistentvolume {pv.metadata.name} has neither a local nor a hostPath source"
        )
    return Path(source.path)
