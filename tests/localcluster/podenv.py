"""Pure rules of the process kubelet: how Kubernetes turns a container spec into
a command line and an environment, and how container paths map to local ones.

No I/O here: the kubelet passes lookups for Secrets and ConfigMaps in, so the
rules (``$(VAR)`` expansion, ``envFrom`` before ``env``, optional references,
ENTRYPOINT/CMD selection) are unit tested on their own.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from kubernetes.utils import parse_quantity

SecretLookup = Callable[[str], Mapping[str, bytes] | None]
ConfigMapLookup = Callable[[str], Mapping[str, str] | None]

# Kubernetes caps a container's termination message at 4096 bytes, and the
# FallbackToLogsOnError tail at 80 lines / 2048 bytes.
MESSAGE_LIMIT = 4096
LOG_TAIL_LINES = 80
LOG_TAIL_BYTES = 2048


class ConfigError(Exception):
    """What the kubelet reports as CreateContainerConfigError: a referenced
    object or key is missing. The kubelet retries; the object may appear."""


@dataclass(frozen=True)
class LocalImage:
    """What an image name means on this machine: its ENTRYPOINT and CMD."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()


# The operator's image (Dockerfile: ENTRYPOINT ["tenant-exit"], CMD ["operator"])
# runs the entry point installed in the project's virtualenv.
_REPO = str(Path(__file__).resolve().parents[2])
# The pod's HOME is its own directory: the MySQL tree is found in this process's
# cache instead (provision-mysql.sh would otherwise unpack a second one there).
_CACHE = os.environ.get("TENANT_EXIT_CACHE") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tenant-exit")
_SCRATCH_ENTRYPOINT = (
    sys.executable, "-c",
    f"import os, sys; sys.path.insert(0, {_REPO!r}); os.environ['TENANT_EXIT_CACHE'] = "
    f"{_CACHE!r}; from tests.localcluster.scratch_image import main; main(sys.argv[1:])",
)
DEFAULT_IMAGES: Mapping[str, LocalImage] = {
    "tenant-exit-operator": LocalImage(("tenant-exit",), ("operator",)),
    # The restore verification's scratch servers (issue 13): every tag runs this
    # machine's server of the family (scratch_image.py).
    "mysql:": LocalImage(_SCRATCH_ENTRYPOINT, ("mysqld",)),
    "mariadb:": LocalImage(_SCRATCH_ENTRYPOINT, ("mariadbd",)),
}


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: defined names are replaced, undefined
    references are kept verbatim, ``$$`` escapes a ``$``, and a ``$`` followed by
    anything else is kept together with that character."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] != "$" or i + 1 == n:
            out.append(text[i])
            i += 1
            continue
        following = text[i + 1]
        if following == "$":
            out.append("$")
            i += 2
        elif following == "(":
            close = text.find(")", i + 2)
            if close == -1:
                out.append("$(")
                i += 2
            else:
                name = text[i + 2 : close]
                out.append(env[name] if name in env else text[i : close + 1])
                i = close + 1
        else:
            out.append(text[i : i + 2])
            i += 2
    return "".join(out)


def _decode(value: bytes) -> str:
    # surrogateescape round-trips any bytes into the process environment unchanged.
    return value.decode("utf-8", errors="surrogateescape")


def field_value(pod: Any, path: str) -> str:
    meta, spec = pod.metadata, pod.spec
    simple: dict[str, str | None] = {
        "metadata.name": meta.name,
        "metadata.namespace": meta.namespace,
        "metadata.uid": meta.uid,
        "spec.nodeName": spec.node_name,
        "spec.serviceAccountName": spec.service_account_name,
        "status.hostIP": "127.0.0.1",
        "status.hostIPs": "127.0.0.1",
        "status.podIP": "127.0.0.1",
        "status.podIPs": "127.0.0.1",
    }
    if path in simple:
        return simple[path] or ""
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if match:
        values = (meta.labels if match[1] == "labels" else meta.annotations) or {}
        return str(values.get(match[2], ""))
    raise ConfigError(f"unsupported fieldRef {path!r}")


def resource_field_value(
    container: Any, resource: str, divisor: str | None, node_allocatable: Mapping[str, str]
) -> str:
    """``resourceFieldRef``: the container's limit (or request), else the node's
    allocatable, divided by the divisor and rounded up, as the kubelet does."""
    kind, _, name = resource.partition(".")
    resources = container.resources
    declared: Mapping[str, str] = {}
    if resources is not None:
        declared = (resources.limits if kind == "limits" else resources.requests) or {}
    raw = declared.get(name)
    if raw is None and kind == "limits":
        raw = node_allocatable.get(name)
    quantity = parse_quantity(raw) if raw is not None else Decimal(0)
    per = parse_quantity(divisor) if divisor else Decimal(1)
    return str(math.ceil(quantity / per))


def container_env(
    pod: Any,
    container: Any,
    *,
    secret: SecretLookup,
    config_map: ConfigMapLookup,
    service_env: Mapping[str, str] | None = None,
    node_allocatable: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The container's environment as the kubelet computes it: service
    variables, then ``envFrom`` sources in order (with prefix), then ``env``
    entries in order, each value expanded against what is defined before it."""
    env: dict[str, str] = dict(service_env or {})
    for source in container.env_from or []:
        prefix = source.prefix or ""
        if source.config_map_ref is not None:
            ref = source.config_map_ref
            data: Mapping[str, str] | None = config_map(ref.name)
            if data is None:
                if ref.optional:
                    continue
                raise ConfigError(f'configmap "{ref.name}" not found')
            env.update({prefix + k: v for k, v in data.items()})
        elif source.secret_ref is not None:
            ref = source.secret_ref
            secret_data = secret(ref.name)
            if secret_data is None:
                if ref.optional:
                    continue
                raise ConfigError(f'secret "{ref.name}" not found')
            env.update({prefix + k: _decode(v) for k, v in secret_data.items()})
    for var in container.env or []:
        if var.value_from is None:
            env[var.name] = expand(var.value or "", env)
            continue
        value = _value_from(pod, container, var.value_from, secret, config_map,
                            node_allocatable or {})
        if value is not None:
            env[var.name] = value
    return env


def _value_from(
    pod: Any,
    container: Any,
    source: Any,
    secret: SecretLookup,
    config_map: ConfigMapLookup,
    node_allocatable: Mapping[str, str],
) -> str | None:
    """One ``valueFrom``; None when an optional reference is missing."""
    if source.secret_key_ref is not None:
        ref = source.secret_key_ref
        data = secret(ref.name)
        if data is None or ref.key not in data:
            if ref.optional:
                return None
            what = (
                f'secret "{ref.name}"' if data is None
                else f'key {ref.key} in secret "{ref.name}"'
            )
            raise ConfigError(f"{what} not found")
        return _decode(data[ref.key])
    if source.config_map_key_ref is not None:
        ref = source.config_map_key_ref
        cm = config_map(ref.name)
        if cm is None or ref.key not in cm:
            if ref.optional:
                return None
            what = (
                f'configmap "{ref.name}"' if cm is None
                else f'key {ref.key} in configmap "{ref.name}"'
            )
            raise ConfigError(f"{what} not found")
        return cm[ref.key]
    if source.field_ref is not None:
        return field_value(pod, source.field_ref.field_path)
    if source.resource_field_ref is not None:
        ref = source.resource_field_ref
        return resource_field_value(container, ref.resource, ref.divisor, node_allocatable)
    raise ConfigError("unsupported valueFrom source")


def _image_for(image: str, images: Mapping[str, LocalImage]) -> LocalImage | None:
    """Longest matching prefix, tried on the full reference and on the name
    after the registry/path, so `ghcr.io/x/tenant-exit-operator:1` matches too."""
    name = image.rsplit("/", 1)[-1]
    for prefix in sorted(images, key=len, reverse=True):
        if image.startswith(prefix) or name.startswith(prefix):
            return images[prefix]
    return None


def command_line(
    container: Any, env: Mapping[str, str], images: Mapping[str, LocalImage]
) -> list[str]:
    """ENTRYPOINT/CMD rules: `command` replaces the entrypoint and drops CMD;
    `args` replaces CMD. References are expanded with the full environment."""
    image = _image_for(container.image or "", images)
    if container.command:
        argv = list(container.command) + list(container.args or [])
    else:
        if image is None or not (image.entrypoint or image.cmd):
            raise ConfigError(
                f"image {container.image!r} has no local command and the container sets no"
                " `command`; map the image in ProcessKubelet(image_commands=...)"
            )
        args = container.args if container.args else list(image.cmd)
        argv = list(image.entrypoint) + list(args)
    return [expand(arg, env) for arg in argv]


class PathMap:
    """Container paths -> local paths, for processes that share our filesystem.

    A mount path (or the termination message path) appearing in a string at a
    path boundary is replaced by its local path, longest mount first, so
    `/data/docs/x`, `--out=/data/docs` and `echo hi > /dev/termination-log` all
    land in the local directory/file behind the mount.
    """

    def __init__(self, mounts: Mapping[str, str]) -> None:
        self._local = {p.rstrip("/"): v for p, v in mounts.items() if p.rstrip("/")}
        ordered = sorted(self._local, key=len, reverse=True)
        self._pattern = (
            re.compile(
                r"(?<![\w.\-/])("
                + "|".join(re.escape(p) for p in ordered)
                + r")(?=$|/|[^\w.\-])"
            )
            if ordered
            else None
        )

    def rewrite(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._local[m[1]], text)

    def rewrite_all(self, values: Sequence[str]) -> list[str]:
        return [self.rewrite(v) for v in values]


def termination_message(
    written: bytes, exit_code: int, policy: str | None, log: bytes
) -> str:
    """The terminated state's message: the file's content, or with
    FallbackToLogsOnError and a failure and an empty file, the log's tail."""
    if written.strip():
        return written[:MESSAGE_LIMIT].decode("utf-8", errors="replace")
    if policy == "FallbackToLogsOnError" and exit_code != 0:
        tail = b"\n".join(log.splitlines()[-LOG_TAIL_LINES:])[-LOG_TAIL_BYTES:]
        return tail.decode("utf-8", errors="replace")
    return ""
