"""Constrained scalar types used by the spec and status models.

Each carries the pattern/format that becomes part of the CRD schema, so the API
server rejects a malformed value before the operator sees it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import Field, PlainSerializer, StringConstraints

# RFC 1123 label: what a Namespace name must be.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# RFC 1123 subdomain: what most object names (Secret, ConfigMap, claim) must be.
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

NamespaceName = Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=63)]
ObjectName = Annotated[str, StringConstraints(pattern=DNS_SUBDOMAIN, max_length=253)]
ConfigMapKey = Annotated[str, StringConstraints(pattern=r"^[-._a-zA-Z0-9]+$", max_length=253)]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# Go duration syntax, as `kubectl` and every Kubernetes field use ("72h", "1h30m").
GoDuration = Annotated[str, StringConstraints(pattern=r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$")]
Port = Annotated[int, Field(ge=1, le=65535)]
# An age X25519 public key: `age1` and 58 bech32 characters.
AGE_RECIPIENT = r"^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$"


def _rfc3339(value: datetime) -> str:
    """metav1.Time is second precision and UTC with a `Z`; match it."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[datetime, PlainSerializer(_rfc3339, return_type=str, when_used="json")]


_DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
}
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s|m|h)")


def parse_go_duration(value: str) -> timedelta:
    """`72h`, `1h30m`, `10s` -> timedelta (the subset the GoDuration pattern admits)."""
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"not a Go duration: {value!r}")
    return timedelta(seconds=sum(float(n) * _DURATION_UNITS[u] for n, u in parts))


def human_size(n: int) -> str:
    """`1.4Gi`-style binary size, as the printer column and the customer README show it."""
    value = float(n)
    for unit in ("B", "Ki", "Mi", "Gi", "Ti"):
        if value < 1024 or unit == "Ti":
            return f"{int(value)}B" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")
