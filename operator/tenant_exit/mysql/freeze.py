"""Reading the write freeze back from the server, before a backup Job starts.

The dump must not start against a database that can still be written (issue
10): enforcing the freeze is not enough, it is read back. RevokeWrites is in
force when no account it covers still holds a write or DDL privilege on a
tenant schema (`grants.plan_revocation` finds nothing left to revoke: the same
reading the enforcement acts on, so the two cannot disagree about who is
covered); the enforcement ended those accounts' open sessions when it revoked
(`grants.kill_sessions`), so the privileges apply to every session.
ServerReadOnly is in force when `read_only` (and on MySQL `super_read_only`)
is on. A probe that a write is refused would need the
application's own credentials, which the operator never holds; the grants and
flags are what such a write is refused by.
"""

from __future__ import annotations

from tenant_exit.api.spec import DatabaseReadOnlyMode
from tenant_exit.mysql import grants, readonly
from tenant_exit.mysql.accounts import Account
from tenant_exit.mysql.connect import Connection


def freeze_problems(conn: Connection, mode: DatabaseReadOnlyMode, schemas: list[str],
                    accounts: list[Account] | None) -> list[str]:
    """What still allows writes (empty: the freeze is in force). `accounts=None`: every
    account except the operator's, as RevokeWrites covers them."""
    if mode is DatabaseReadOnlyMode.SERVER_READ_ONLY:
        flags = readonly.read_flags(conn)
        return [f"the server's {name} is off" for name, on in sorted(flags.items()) if not on]
    if mode is not DatabaseReadOnlyMode.REVOKE_WRITES:
        return []
    tenant = grants.tenant_schemas(conn, schemas)
    left = grants.plan_revocation(conn, tenant, accounts).revocations
    held: dict[str, set[str]] = {}
    for revocation in left:
        where = f"`{revocation.schema}`.{f'`{revocation.table}`' if revocation.table else '*'}"
        held.setdefault(str(revocation.account), set()).add(f"{revocation.privilege} on {where}")
    return [f"{account} still holds {', '.join(sorted(privileges))}"
            for account, privileges in sorted(held.items())]
