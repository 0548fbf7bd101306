"""Before the dump: does the dump account hold what mysqldump needs to see everything?

mysqldump does not fail on every missing privilege. Without TRIGGER the
triggers of a table are simply not listed (`SHOW TRIGGERS` filters by
privilege), and without access to other definers' routine bodies the routines
are not listed either; information_schema hides them from the inventory and
the data dictionary the same way. The archive would then lack schema code and
nothing would say so. So the worker reads the account's own grants and refuses
to start when one is missing, naming it. (`dump.py`'s docstring lists why each
privilege is needed.)

On MySQL 8.0+ the grants come from `SHOW GRANTS FOR CURRENT_USER() USING <the
session's active roles>`: it expands the roles mysqldump's own session gets at
login (default and mandatory roles) and lists partial revokes, which
information_schema shows neither of. Elsewhere (MySQL 5.7, MariaDB) they come
from information_schema's USER_/SCHEMA_/TABLE_PRIVILEGES rows of CURRENT_USER().
Schema grants may be LIKE patterns (`tenant\\_%`). Only schema-level (or global)
grants count: table-level ones cover only the tables the account can see, and
the tables it cannot see are exactly the ones that would be missing. On MariaDB, privileges that
reach the account through a role do not appear in those tables, so with a role
enabled the check is skipped and logged rather than failing an account that
may be fine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

import pymysql

from tenant_exit.mysql.connect import Connection, fetch_all
from tenant_exit.mysql.grant_lines import GrantLine, parse_grant_line
from tenant_exit.mysql.grants import show_own_grants
from tenant_exit.mysql.names import like_matches
from tenant_exit.mysql.server import ServerFamily, ServerInfo
from tenant_exit.worker.plan import SchemaPlan
from tenant_exit.worker.progress import ProgressLog

SCHEMA_NEEDS: dict[str, str] = {
    "SELECT": "table data",
    "SHOW VIEW": "view definitions",
    "TRIGGER": "triggers, which mysqldump otherwise leaves out without an error",
    "EVENT": "events (--events)",
}
"""Privileges needed on every dumped schema, and what each one is for."""

ROUTINES_WHY = "routines, which mysqldump otherwise leaves out without an error"


class MissingPrivileges(RuntimeError):
    """The dump account lacks a privilege; the message names each, never a password."""


class ServerKind(StrEnum):
    MARIADB = "mariadb"
    MYSQL57 = "mysql5.7"
    MYSQL8 = "mysql8"


def server_kind(version: str, version_comment: str = "") -> ServerKind:
    """From `@@version` (and `@@version_comment`): '10.11.19-MariaDB-...', '8.0.36',
    '5.7.44-log'."""
    if "mariadb" in f"{version} {version_comment}".lower():
        return ServerKind.MARIADB
    major = re.match(r"\s*(\d+)", version)
    return ServerKind.MYSQL8 if major and int(major.group(1)) >= 8 else ServerKind.MYSQL57


@dataclass(frozen=True)
class Grants:
    """One account's privileges as information_schema lists them."""

    account: str
    """`'user'@'host'`, as in the GRANTEE columns."""
    global_privileges: frozenset[str] = frozenset()
    schema_privileges: dict[str, frozenset[str]] = field(default_factory=dict)
    """By schema name or LIKE pattern, as granted."""
    table_privileges: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    schema_revokes: dict[str, frozenset[str]] = field(default_factory=dict)
    """Partial revokes (MySQL 8.0.16+ with partial_revokes=ON): global privileges
    taken away on one schema."""


@dataclass(frozen=True)
class Missing:
    privilege: str
    on: str
    why: str

    def __str__(self) -> str:
        return f"{self.privilege} on {self.on} ({self.why})"


def on_schema(grants: Grants, schema: str) -> frozenset[str]:
    """Privileges the account holds on every table of `schema` (global + schema grants)."""
    held = set(grants.global_privileges)
    for pattern, privileges in grants.schema_privileges.items():
        if like_matches(pattern, schema):
            held |= privileges
    return frozenset(held - grants.schema_revokes.get(schema, frozenset()))


def _holds(grants: Grants, privilege: str, plan: SchemaPlan) -> bool:
    # Schema-level (or global) only. Table-level grants cannot prove completeness:
    # information_schema, SHOW TABLES and mysqldump show an account only the tables
    # it holds a privilege on, so grants covering every *visible* table say nothing
    # of the tables it cannot see (issue 10, scenario 5).
    return privilege in on_schema(grants, plan.schema)


def _can_read_routines(grants: Grants, kind: ServerKind, schema: str) -> bool:
    if "SELECT" in grants.global_privileges:
        return True  # every server shows all routine bodies to global SELECT
    if kind is ServerKind.MYSQL8:
        # No mysql.proc in 8.0 (data dictionary); SHOW_ROUTINE exists since 8.0.20.
        return "SHOW_ROUTINE" in grants.global_privileges
    if "SHOW CREATE ROUTINE" in on_schema(grants, schema):  # MariaDB >= 11.3
        return True
    return ("SELECT" in on_schema(grants, "mysql")
            or "SELECT" in grants.table_privileges.get(("mysql", "proc"), frozenset()))


def missing_privileges(grants: Grants, plans: list[SchemaPlan], kind: ServerKind
                       ) -> list[Missing]:
    """What the account lacks to dump the planned schemas completely (pure)."""
    missing = [Missing(privilege, f"`{plan.schema}`.*", why)
               for plan in plans for privilege, why in SCHEMA_NEEDS.items()
               if not _holds(grants, privilege, plan)]
    if not all(_can_read_routines(grants, kind, plan.schema) for plan in plans):
        needed = "SHOW_ROUTINE (or global SELECT)" if kind is ServerKind.MYSQL8 else "SELECT"
        on = "*.*" if kind is ServerKind.MYSQL8 else "mysql.proc"
        missing.append(Missing(needed, on, ROUTINES_WHY))
    return missing


def describe(account: str, missing: list[Missing]) -> str:
    return (f"the dump account {account} lacks privileges mysqldump needs: "
            f"{'; '.join(str(m) for m in missing)}. Grant them (docs/operations.md, "
            "'Dump account privileges'), then change the TenantExit's spec for a new "
            "attempt: no retry can grant them, so the exit stalls until then.")


ALL_PRIVILEGES = frozenset({*SCHEMA_NEEDS, "SELECT"})
"""What `ALL PRIVILEGES` includes among the privileges this check looks at."""


def grants_from_lines(account: str, lines: list[GrantLine]) -> Grants:
    """The account's grants from its (role-expanded) SHOW GRANTS lines (pure)."""
    global_privileges: set[str] = set()
    schemas: dict[str, set[str]] = {}
    tables: dict[tuple[str, str], set[str]] = {}
    revokes: dict[str, set[str]] = {}
    for line in lines:
        names: set[str] = set()
        for privilege in line.privileges:
            if privilege.columns:
                continue  # column privileges do not let mysqldump see a whole table
            names |= ALL_PRIVILEGES if privilege.name == "ALL PRIVILEGES" else {privilege.name}
        if line.revoke:
            if line.schema is not None and line.table is None:
                revokes.setdefault(line.schema, set()).update(names)
        elif line.is_global:
            global_privileges |= names
        elif line.schema is not None and line.table is None:
            schemas.setdefault(line.schema, set()).update(names)
        elif line.schema is not None and line.table is not None and not line.routine:
            tables.setdefault((line.schema, line.table), set()).update(names)
    return Grants(account=account, global_privileges=frozenset(global_privileges),
                  schema_privileges={k: frozenset(v) for k, v in schemas.items()},
                  table_privileges={k: frozenset(v) for k, v in tables.items()},
                  schema_revokes={k: frozenset(v) for k, v in revokes.items()})


# -- reading the grants (I/O) ---------------------------------------------
def _grantee(current_user: str) -> str:
    user, _, host = current_user.rpartition("@")
    return "'{}'@'{}'".format(user.replace("'", "''"), host.replace("'", "''"))


def roles_enabled(conn: Connection) -> bool:
    """True when the session has a role enabled (MariaDB, MySQL >= 8.0.19)."""
    try:
        rows = fetch_all(conn, "SELECT COUNT(*) FROM information_schema.ENABLED_ROLES "
                               "WHERE ROLE_NAME IS NOT NULL")
    except pymysql.err.MySQLError:
        return False  # MySQL 5.7: no roles, no such table
    return bool(rows and int(rows[0][0]))


def read_grants(conn: Connection) -> Grants:
    account = _grantee(str(fetch_all(conn, "SELECT CURRENT_USER()")[0][0]))
    global_privileges = frozenset(
        str(r[0]) for r in fetch_all(
            conn, "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES "
                  "WHERE GRANTEE = %s", (account,)))
    schemas: dict[str, set[str]] = {}
    for schema, privilege in fetch_all(
            conn, "SELECT TABLE_SCHEMA, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES "
                  "WHERE GRANTEE = %s", (account,)):
        schemas.setdefault(str(schema), set()).add(str(privilege))
    tables: dict[tuple[str, str], set[str]] = {}
    for schema, table, privilege in fetch_all(
            conn, "SELECT TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE FROM "
                  "information_schema.TABLE_PRIVILEGES WHERE GRANTEE = %s", (account,)):
        tables.setdefault((str(schema), str(table)), set()).add(str(privilege))
    return Grants(account=account, global_privileges=global_privileges,
                  schema_privileges={k: frozenset(v) for k, v in schemas.items()},
                  table_privileges={k: frozenset(v) for k, v in tables.items()})


def check_dump_privileges(conn: Connection, plans: list[SchemaPlan], server: ServerInfo,
                          log: ProgressLog) -> None:
    """Raise MissingPrivileges naming what the account lacks; log what was checked."""
    if not plans:
        return
    kind = server_kind(server.version, server.version_comment)
    if server.has_data_dictionary:
        account = _grantee(str(fetch_all(conn, "SELECT CURRENT_USER()")[0][0]))
        lines = [parse_grant_line(g) for g in show_own_grants(conn, server)]
        own = grants_from_lines(account, lines)
        missing = missing_privileges(own, plans, kind)
        if missing:
            raise MissingPrivileges(describe(own.account, missing))
        log.event("privileges-checked", account=own.account, source="SHOW GRANTS")
        return
    if server.family is ServerFamily.MARIADB and roles_enabled(conn):
        log.event("privileges-not-checked",
                  reason="a role is enabled and information_schema does not list role "
                         "privileges; triggers and routines are dumped only if the role "
                         "grants TRIGGER and routine access")
        return
    grants = read_grants(conn)
    missing = missing_privileges(grants, plans, kind)
    if missing:
        raise MissingPrivileges(describe(grants.account, missing))
    log.event("privileges-checked", account=grants.account)
