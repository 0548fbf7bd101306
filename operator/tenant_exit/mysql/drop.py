"""Dropping the tenant's schemas on an external database server: the last,
irreversible part of the deletion for databases that do not live (and die)
inside the tenant namespace.

On MySQL under ServerReadOnly, `super_read_only` refuses DROP DATABASE even to
the operator's account (ERROR 1290), so it is lifted around the drops, with
`read_only` still stopping every ordinary account (`readonly.super_read_only_lifted`).
"""

from __future__ import annotations

from tenant_exit.mysql.connect import Connection, fetch_all, placeholders
from tenant_exit.mysql.names import quote_identifier
from tenant_exit.mysql.readonly import super_read_only_lifted


def existing_schemas(conn: Connection, schemas: list[str]) -> list[str]:
    if not schemas:
        return []
    rows = fetch_all(
        conn,
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
        f"WHERE SCHEMA_NAME IN ({placeholders(schemas)}) ORDER BY SCHEMA_NAME",
        schemas,
    )
    return [str(r[0]) for r in rows]


def drop_schemas(conn: Connection, schemas: list[str]) -> list[str]:
    """Drops each schema that still exists and returns those it dropped.
    Idempotent: a retried call after a crash drops what is left."""
    present = existing_schemas(conn, schemas)
    if not present:
        return present
    with super_read_only_lifted(conn), conn.cursor() as cur:
        for schema in present:
            cur.execute(f"DROP DATABASE IF EXISTS {quote_identifier(schema)}")
    return present
