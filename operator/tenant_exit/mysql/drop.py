"""Dropping the tenant's schemas on an external database server: the last,
irreversible part of the deletion for databases that do not live (and die)
inside the tenant namespace.

On MySQL under ServerReadOnly, `super_read_only` refuses DROP DATABASE even to
the operator's account (ERROR 1290), so it is lifted around the drops, with
`read_only` still stopping every ordinary account (`readonly.super_read_only_lifted`).

Names are compared exactly, in Python: information_schema compares with a
case-insensitive collation on MariaDB and MySQL, so `SCHEMA_NAME IN ('ons')` also
matches a neighbour's `ONS` (and `'MYSQL'` matches `mysql`). The system schemas are
refused here too, whatever the caller checked: this is the step that cannot be undone.
"""

from __future__ import annotations

from tenant_exit.api.database import SYSTEM_SCHEMAS
from tenant_exit.mysql.connect import Connection, fetch_all
from tenant_exit.mysql.names import quote_identifier
from tenant_exit.mysql.readonly import super_read_only_lifted


class DropRefused(Exception):
    """A schema that must never be dropped was asked for; nothing was dropped."""


class DropIncomplete(Exception):
    """A schema is still there after DROP DATABASE."""


def system_schemas_in(schemas: list[str]) -> list[str]:
    """The requested names that are (in any letter case) a system schema. Pure."""
    return sorted(s for s in schemas if s.lower() in SYSTEM_SCHEMAS)


def existing_schemas(conn: Connection, schemas: list[str]) -> list[str]:
    """The requested schemas that exist, matched case-sensitively."""
    if not schemas:
        return []
    rows = fetch_all(conn, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
    present = {str(r[0]) for r in rows}
    return sorted(s for s in set(schemas) if s in present)


def drop_schemas(conn: Connection, schemas: list[str]) -> list[str]:
    """Drop each listed schema that still exists; return the listed schemas read back
    as absent afterwards (what the certificate records). Idempotent: a retried call
    after a crash drops what is left and reports the same list."""
    refused = system_schemas_in(schemas)
    if refused:
        raise DropRefused(f"refusing to drop system schema(s) {', '.join(refused)}")
    present = existing_schemas(conn, schemas)
    if present:
        with super_read_only_lifted(conn), conn.cursor() as cur:
            for schema in present:
                cur.execute(f"DROP DATABASE IF EXISTS {quote_identifier(schema)}")
    left = existing_schemas(conn, schemas)
    if left:
        raise DropIncomplete(f"schema(s) {', '.join(left)} still exist after DROP DATABASE")
    return sorted(set(schemas))
