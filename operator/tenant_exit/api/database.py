"""Facts about MySQL-compatible servers that the API, the adapters and the worker share.

The system schemas are the server's own: never tenant data, never dumped, never
dropped. The CRD's CEL rule on schema names is generated from this one tuple.
"""

from __future__ import annotations

from typing import Final

SYSTEM_SCHEMAS: Final = ("mysql", "information_schema", "performance_schema", "sys")
"""Schemas every MySQL 5.7/8.0+ and MariaDB server has for itself (compared lower-case)."""


def is_system_schema(name: str) -> bool:
    return name.lower() in SYSTEM_SCHEMAS
