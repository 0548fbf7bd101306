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

What RevokeWrites cannot narrow, it refuses instead of pretending: a global
(`*.*`) write privilege, or a wildcard schema grant (`ons\\_%`) — revoking those
would change more than the tenant. Use ServerReadOnly for such servers. Not
covered: privileges reached through MySQL 8 roles, and DEFINER routines/views,
which run with their definer's rights.

Schema-level privilege changes reach an open session only at its next `USE`
(MySQL manual, "When Privilege Changes Take Effect"), so sessions of accounts
that just lost privileges are killed; applications reconnect read-only.
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, TypeAlias

import pymysql

# pymysql's Connection is generic only to type checkers.
Connection: TypeAlias = "pymysql.connections.Connection[Any]"

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
SYSTEM_SCHEMAS = frozenset({"mysql", "information_schema", "performance_schema", "sys"})
_GRANTEE = re.compile(r"^'(?P<user>(?:[^']|'')*)'@'(?P<host>(?:[^']|'')*)'$")


class GrantProblem(Exception):
    """The grants cannot be made read-only by RevokeWrites; a human must decide."""


@dataclass(frozen=True, order=True)
class Account:
    user: str
    host: str

    @classmethod
    def parse(cls, text: str) -> Account:
        """`user@host` (spec) or `'user'@'host'` (information_schema GRANTEE)."""
        quoted = _GRANTEE.match(text)
        if quoted:
            return cls(quoted["user"].replace("''", "'"), quoted["host"].replace("''", "'"))
        user, _, host = text.rpartition("@")
        return cls(user, host)

    def __str__(self) -> str:
        return f"{self.user}@{self.host}"


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
        return sorted(row[0] for row in cur.fetchall() if row[0].lower() not in SYSTEM_SCHEMAS)


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
            schema = _unescape(pattern)
            if schema in schemas:
                held.append(Revocation(Account.parse(grantee), privilege, schema))
            elif _is_pattern(pattern) and any(_like(pattern, s) for s in schemas):
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
    me = current_account(conn)
    held = held_writes(conn, schemas)
    if accounts is None:
        targets = sorted({r.account for r in held} - {me})
    else:
        targets = sorted(set(accounts))
    unnarrowable = global_writes(conn, targets)
    if unnarrowable:
        account, privileges = sorted(unnarrowable.items())[0]
        raise GrantProblem(
            f"account {account} holds {', '.join(sorted(privileges))} on *.* (every schema), "
            "which RevokeWrites cannot narrow to the tenant; use readOnly.database: "
            "ServerReadOnly or list only application accounts in readOnly.accounts"
        )
    revocations = tuple(r for r in held if r.account in set(targets))
    grants_before = {_key(a): show_grants(conn, a) for a in targets}
    return RevocationPlan(revocations=revocations, grants_before=grants_before)


# --- changing --------------------------------------------------------------


def revoke(conn: Connection, plan: RevocationPlan) -> list[Account]:
    """Revoke what the plan lists and is still held; return accounts that lost any.

    Safe to repeat: privileges already gone are skipped, so a second pass revokes
    nothing (and kills nobody's session)."""
    schemas = sorted({r.schema for r in plan.revocations})
    still_held = set(held_writes(conn, schemas)) if schemas else set()
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
    """End open sessions of `accounts` so the revoked privileges apply at once."""
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
        target = f"{_ident(r.schema)}.{_ident(r.table) if r.table else '*'}"
        privilege = f"{r.privilege} ({_ident(r.column)})" if r.column else r.privilege
        grouped[(r.account, target)].append(privilege)
    return dict(grouped)


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _key(account: Account) -> str:
    return str(account)


def _is_pattern(pattern: str) -> bool:
    return re.search(r"(?<!\\)[%_]", pattern) is not None


def _unescape(pattern: str) -> str:
    return pattern.replace("\\_", "_").replace("\\%", "%")


def _like(pattern: str, schema: str) -> bool:
    glob = re.sub(r"(?<!\\)%", "*", re.sub(r"(?<!\\)_", "?", pattern))
    return fnmatch.fnmatchcase(schema, _unescape(glob))
