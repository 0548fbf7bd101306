"""RevokeWrites: take write and DDL privileges of application accounts away from
the tenant schemas, remembering exactly what was revoked so a cancel restores it.

Why these privileges: the read-only licence must stop new data (INSERT, UPDATE,
DELETE, ...) and also DDL, because `mysqldump --single-transaction` is consistent
only while no DDL runs (docs/architecture.md, "Known traps"). LOCK TABLES goes
too: a WRITE lock would stall the dump. SELECT, SHOW VIEW, EXECUTE and CREATE
TEMPORARY TABLES stay, so the applications can still show (and report on) the data.

Which accounts: the ones listed in spec.readOnly.accounts, or else every account
holding a write privilege on a tenant schema (schema, table or column level)
except the operator's own. Privileges are read from information_schema
(SCHEMA_/TABLE_/COLUMN_/USER_PRIVILEGES), the same on MySQL 5.7, 8.0 and
MariaDB; the operator's account needs SELECT on the mysql schema to see other
accounts' rows there.

Roles (MySQL 8.0+): a role is an account, so a role holding a write privilege
on a tenant schema is a holder like any other and loses it; every role granted
to a target account (`mysql.role_edges`, whether a default role or not) and
every mandatory role (`@@mandatory_roles`) is a target too. Revoking from a
role takes the privilege from every account the role is granted to, which is
what read-only means for the tenant schemas. The sessions of those accounts are
killed like the targets' own.

Partial revokes (MySQL 8.0.16+, `partial_revokes=ON`): there a global write
privilege CAN be narrowed: `REVOKE INSERT ON zorg.* FROM u` leaves u's INSERT
on every other schema, and `GRANT INSERT ON zorg.* TO u` on cancel removes
that restriction again, so SHOW GRANTS is as before. With partial_revokes off
(the default) a global write privilege is refused as below.

What RevokeWrites cannot narrow, it refuses instead of pretending: a global
(`*.*`) write privilege without partial_revokes, or a wildcard schema grant
(`ons\\_%`) — revoking those would change more than the tenant. Use
ServerReadOnly for such servers. Not covered: DEFINER routines/views, which run
with their definer's rights, and MariaDB roles.

Schema-level privilege changes reach an open session only at its next `USE`
(MySQL manual, "When Privilege Changes Take Effect"), so sessions of accounts
that just lost privileges are killed; applications reconnect read-only. Seeing
other accounts' sessions needs PROCESS and killing them CONNECTION_ADMIN (MySQL
8.0+) or SUPER; without them the kill would silently do less, so the
operator's account is checked for them (and SELECT on mysql.*) before
anything is revoked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import pymysql

from tenant_exit.api.database import is_system_schema
from tenant_exit.mysql.accounts import Account as Account  # re-exported: grants.Account
from tenant_exit.mysql.connect import Connection, fetch_all
from tenant_exit.mysql.grant_lines import (
    GrantLine,
    UnreadableGrant,
    parse_grant_line,
)
from tenant_exit.mysql.names import is_like_pattern, like_matches, quote_identifier, unescape_like
from tenant_exit.mysql.roles import members_of, roles_of
from tenant_exit.mysql.server import ServerFamily, ServerInfo, read_server

WRITE_PRIVILEGES = frozenset(
    {
        "INSERT",
        "UPDATE",
        "DELETE",
        "CREATE",
        "DROP",
        "ALTER",
        "INDEX",
        "CREATE VIEW",
        "TRIGGER",
        "EVENT",
        "CREATE ROUTINE",
        "ALTER ROUTINE",
        "LOCK TABLES",
        "DELETE HISTORY",  # MariaDB: purging history of system-versioned tables
    }
)


class GrantProblem(Exception):
    """The grants cannot be made read-only by RevokeWrites; a human must decide."""


@dataclass(frozen=True, order=True)
class Revocation:
    """One privilege on one object, revoked from one account."""

    account: Account
    privilege: str
    schema: str
    table: str | None = None
    column: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Revocation:
        return cls(**{**data, "account": Account(**data["account"])})


@dataclass(frozen=True)
class RevocationPlan:
    """What RevokeWrites takes away, plus each account's SHOW GRANTS before."""

    revocations: tuple[Revocation, ...]
    grants_before: dict[str, list[str]]

    @property
    def accounts(self) -> list[Account]:
        return sorted({r.account for r in self.revocations})

    def to_json(self) -> dict[str, Any]:
        return {
            "revocations": [r.to_json() for r in self.revocations],
            "grantsBefore": self.grants_before,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RevocationPlan:
        return cls(
            revocations=tuple(Revocation.from_json(r) for r in data["revocations"]),
            grants_before=data["grantsBefore"],
        )


# --- reading ---------------------------------------------------------------


def tenant_schemas(conn: Connection, requested: list[str]) -> list[str]:
    """The requested schemas, or every non-system schema when none is named."""
    if requested:
        return list(requested)
    with conn.cursor() as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        return sorted(row[0] for row in cur.fetchall() if not is_system_schema(row[0]))


def current_account(conn: Connection) -> Account:
    with conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        user, _, host = str(cur.fetchone()[0]).rpartition("@")
        return Account(user, host)


def show_grants(conn: Connection, account: Account) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SHOW GRANTS FOR %s@%s", (account.user, account.host))
        return [row[0] for row in cur.fetchall()]


def held_writes(conn: Connection, schemas: list[str]) -> list[Revocation]:
    """Write privileges anyone holds on `schemas` (schema, table and column level)."""
    held: list[Revocation] = []
    with conn.cursor() as cur:
        cur.execute(
            "SELECT GRANTEE, TABLE_SCHEMA, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES"
        )
        for grantee, pattern, privilege in cur.fetchall():
            if privilege not in WRITE_PRIVILEGES:
                continue
            schema = unescape_like(pattern)
            if schema in schemas:
                held.append(Revocation(Account.parse(grantee), privilege, schema))
            elif is_like_pattern(pattern) and any(like_matches(pattern, s) for s in schemas):
                raise GrantProblem(
                    f"account {Account.parse(grantee)} holds {privilege} on the schema pattern "
                    f"`{pattern}`, which RevokeWrites cannot narrow to the tenant; grant per "
                    "schema or use readOnly.database: ServerReadOnly"
                )
        cur.execute(
            "SELECT GRANTEE, TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE "
            "FROM information_schema.TABLE_PRIVILEGES"
        )
        for grantee, schema, table, privilege in cur.fetchall():
            if privilege in WRITE_PRIVILEGES and schema in schemas:
                held.append(Revocation(Account.parse(grantee), privilege, schema, table))
        cur.execute(
            "SELECT GRANTEE, TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, PRIVILEGE_TYPE "
            "FROM information_schema.COLUMN_PRIVILEGES"
        )
        for grantee, schema, table, column, privilege in cur.fetchall():
            if privilege in WRITE_PRIVILEGES and schema in schemas:
                held.append(Revocation(Account.parse(grantee), privilege, schema, table, column))
    return sorted(set(held))


def global_writes(conn: Connection, accounts: list[Account]) -> dict[Account, list[str]]:
    wanted = set(accounts)
    found: dict[Account, list[str]] = defaultdict(list)
    with conn.cursor() as cur:
        cur.execute("SELECT GRANTEE, PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES")
        for grantee, privilege in cur.fetchall():
            account = Account.parse(grantee)
            if account in wanted and privilege in WRITE_PRIVILEGES:
                found[account].append(privilege)
    return dict(found)


def plan_revocation(
    conn: Connection, schemas: list[str], accounts: list[Account] | None
) -> RevocationPlan:
    """What to revoke. `accounts=None`: every holder except the operator's account."""
    server = read_server(conn)
    require_operator_privileges(conn, server)
    me = current_account(conn)
    held = held_writes(conn, schemas)
    if accounts is None:
        targets = {r.account for r in held} - {me}
    else:
        targets = set(accounts)
    if server.has_data_dictionary:
        targets |= roles_of(conn, targets) - {me}
    global_held = global_writes(conn, sorted(targets))
    narrowed: list[Revocation] = []
    if global_held and server.has_data_dictionary and partial_revokes(conn):
        narrowed = still_global(conn, global_held, schemas)
    elif global_held:
        account, privileges = sorted(global_held.items())[0]
        raise GrantProblem(
            f"account {account} holds {', '.join(sorted(privileges))} on *.* (every schema), "
            "which RevokeWrites cannot narrow to the tenant without partial_revokes "
            "(MySQL 8.0.16+); use readOnly.database: ServerReadOnly or list only "
            "application accounts in readOnly.accounts"
        )
    revocations = tuple(sorted({r for r in held if r.account in targets} | set(narrowed)))
    grants_before = {_key(a): show_grants(conn, a) for a in sorted(targets)}
    return RevocationPlan(revocations=revocations, grants_before=grants_before)


def partial_revokes(conn: Connection) -> bool:
    return bool(int(fetch_all(conn, "SELECT @@GLOBAL.partial_revokes")[0][0]))


def still_global(conn: Connection, global_held: dict[Account, list[str]], schemas: list[str]
                 ) -> list[Revocation]:
    """With partial_revokes: each global write privilege on each tenant schema that no
    partial revoke (a `REVOKE ... ON schema.*` line) has taken away yet."""
    result = []
    for account, privileges in global_held.items():
        revoked = _partially_revoked(show_grants(conn, account))
        result += [Revocation(account, privilege, schema) for privilege in privileges
                   for schema in schemas if (privilege, schema) not in revoked]
    return result


def _partially_revoked(lines: list[str]) -> set[tuple[str, str]]:
    revoked = set()
    for line in lines:
        parsed = parse_grant_line(line)
        if parsed.revoke and parsed.schema is not None and parsed.table is None:
            revoked |= {(p.name, parsed.schema) for p in parsed.privileges}
    return revoked


# --- the operator's own account --------------------------------------------

SESSION_KILL = {
    ServerFamily.MYSQL: ("CONNECTION_ADMIN", "SUPER"),
    ServerFamily.MARIADB: ("CONNECTION ADMIN", "SUPER"),
}


def missing_operator_privileges(lines: list[GrantLine], family: ServerFamily) -> list[str]:
    """What the operator's account lacks for RevokeWrites, from its SHOW GRANTS (pure)."""
    global_privileges: set[str] = set()
    mysql_schema: set[str] = set()
    for line in lines:
        if line.revoke:
            continue
        names = {p.name for p in line.privileges if not p.columns}
        if "ALL PRIVILEGES" in names:
            names |= {"SELECT", "PROCESS", "SUPER", "GRANT OPTION"}
        if line.is_global:
            global_privileges |= names
        elif line.schema == "mysql" and line.table is None:
            mysql_schema |= names
    missing = []
    if "SELECT" not in global_privileges | mysql_schema:
        missing.append("SELECT on mysql.* (to read other accounts' grants and roles)")
    if "PROCESS" not in global_privileges:
        missing.append("PROCESS (to see the sessions of the accounts that lose writes)")
    if not global_privileges & set(SESSION_KILL[family]):
        missing.append(f"{' or '.join(SESSION_KILL[family])} (to end those sessions, so the "
                       "revocation applies at once)")
    return missing


def show_own_grants(conn: Connection, server: ServerInfo) -> list[str]:
    """SHOW GRANTS of the session's account; on MySQL 8.0+ with the session's active
    roles (default and mandatory ones, as at login) expanded."""
    using = ""
    if server.has_data_dictionary:
        roles = str(fetch_all(conn, "SELECT CURRENT_ROLE()")[0][0] or "NONE")
        # CURRENT_ROLE() returns the roles quoted (`r`@`%`,...), ready for USING.
        using = "" if roles.upper() == "NONE" else f" USING {roles}"
    return [str(r[0]) for r in fetch_all(conn, f"SHOW GRANTS FOR CURRENT_USER(){using}")]


def require_operator_privileges(conn: Connection, server: ServerInfo) -> None:
    """GrantProblem naming what the operator's account lacks for RevokeWrites."""
    try:
        lines = [parse_grant_line(line) for line in show_own_grants(conn, server)]
    except UnreadableGrant as err:
        raise GrantProblem(f"cannot read the operator account's grants: {err}") from None
    missing = missing_operator_privileges(lines, server.family)
    if missing:
        raise GrantProblem(
            f"the database account in database.credentialsSecret lacks what RevokeWrites "
            f"needs: {'; '.join(missing)}. Grant it, or use readOnly.database: ServerReadOnly")


# --- changing --------------------------------------------------------------


def revoke(conn: Connection, plan: RevocationPlan) -> list[Account]:
    """Revoke what the plan lists and is still held; return accounts that lost any.

    Safe to repeat: privileges already gone are skipped, so a second pass revokes
    nothing (and kills nobody's session)."""
    schemas = sorted({r.schema for r in plan.revocations})
    still_held = set(held_writes(conn, schemas)) if schemas else set()
    accounts = sorted({r.account for r in plan.revocations})
    global_held = global_writes(conn, accounts) if accounts else {}
    if global_held:
        still_held |= set(still_global(conn, global_held, schemas))
    todo = [r for r in plan.revocations if r in still_held]
    with conn.cursor() as cur:
        for (account, target), privileges in _grouped(todo).items():
            cur.execute(
                f"REVOKE {', '.join(privileges)} ON {target} FROM %s@%s",
                (account.user, account.host),
            )
    return sorted({r.account for r in todo})


def restore(conn: Connection, plan: RevocationPlan) -> list[str]:
    """Grant back exactly what was revoked; return accounts whose grants now differ
    from the remembered SHOW GRANTS (empty when restored exactly)."""
    with conn.cursor() as cur:
        for (account, target), privileges in _grouped(list(plan.revocations)).items():
            cur.execute(
                f"GRANT {', '.join(privileges)} ON {target} TO %s@%s",
                (account.user, account.host),
            )
    differing = []
    for key, before in plan.grants_before.items():
        if sorted(show_grants(conn, Account.parse(key))) != sorted(before):
            differing.append(key)
    return differing


def kill_sessions(conn: Connection, accounts: list[Account]) -> int:
    """End open sessions of `accounts`, and of the accounts holding one of them as a
    role, so the revoked privileges apply at once."""
    if accounts and read_server(conn).has_data_dictionary:
        accounts = sorted(set(accounts) | members_of(conn, set(accounts)))
    users = sorted({a.user for a in accounts})
    if not users:
        return 0
    killed = 0
    with conn.cursor() as cur:
        cur.execute(
            "SELECT ID FROM information_schema.PROCESSLIST "
            f"WHERE USER IN ({', '.join(['%s'] * len(users))}) AND ID <> CONNECTION_ID()",
            users,
        )
        for (session,) in cur.fetchall():
            try:
                cur.execute("KILL CONNECTION %s", (int(session),))
                killed += 1
            except pymysql.err.OperationalError:
                pass  # ended on its own meanwhile (unknown thread id)
    return killed


# --- helpers ---------------------------------------------------------------


def _grouped(revocations: list[Revocation]) -> dict[tuple[Account, str], list[str]]:
    """One statement per account and object; column privileges as `UPDATE (col)`."""
    grouped: dict[tuple[Account, str], list[str]] = defaultdict(list)
    for r in sorted(revocations):
        target = f"{quote_identifier(r.schema)}.{quote_identifier(r.table) if r.table else '*'}"
        privilege = f"{r.privilege} ({quote_identifier(r.column)})" if r.column else r.privilege
        grouped[(r.account, target)].append(privilege)
    return dict(grouped)


def _key(account: Account) -> str:
    return str(account)
