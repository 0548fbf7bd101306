"""The operator's own connection to the tenant's database server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tenant_exit.api.resource import TenantExit
from tenant_exit.kube import secrets
from tenant_exit.mysql.connect import connect
from tenant_exit.reconcile.context import Context


@contextmanager
def connection(exit: TenantExit, ctx: Context, host: str | None = None,
              port: int | None = None) -> Iterator[Any]:
    """A connection to the spec's server, or to the recorded one (issue 10: deletion
    drops on the server that was backed up, whatever the spec says now)."""
    db = exit.spec.database
    creds = secrets.database_credentials(ctx.core, exit.spec.tenant_namespace,
                                         db.credentials_secret)
    conn = connect(host or db.host, port or db.port, creds.username, creds.password)
    try:
        yield conn
    finally:
        conn.close()


