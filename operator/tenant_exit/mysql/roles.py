"""MySQL 8.0+ roles: which roles an account holds, and which accounts hold a role.

A role is an account (`mysql.user`) granted to others (`mysql.role_edges`, which
needs SELECT on mysql.*), possibly through other roles, and every account also
holds the mandatory roles (`@@mandatory_roles`) without a grant. RevokeWrites
treats each role reachable from a target as a target, and ends the sessions of
every account holding a role that lost privileges.
"""

from __future__ import annotations

import re
from collections import defaultdict

from tenant_exit.mysql.accounts import Account
from tenant_exit.mysql.connect import Connection, fetch_all
from tenant_exit.mysql.grant_lines import parse_account


def roles_of(conn: Connection, accounts: set[Account]) -> set[Account]:
    """Every role reachable from `accounts` (granted, also through other roles) plus the
    mandatory roles, which every account holds without a grant (MySQL 8.0+)."""
    mandatory = set(mandatory_roles(conn)) if accounts else set()
    return mandatory | _reachable(accounts | mandatory, role_edges(conn))


def _reachable(start: set[Account], edges: dict[Account, set[Account]]) -> set[Account]:
    """Everything reachable from `start` along `edges`, `start` itself excluded
    unless reached again (roles may be granted in cycles)."""
    found: set[Account] = set()
    todo = list(start)
    while todo:
        for nxt in edges.get(todo.pop(), set()):
            if nxt not in found:
                found.add(nxt)
                todo.append(nxt)
    return found


def role_edges(conn: Connection) -> dict[Account, set[Account]]:
    """account -> roles granted to it (mysql.role_edges; needs SELECT on mysql.*)."""
    edges: dict[Account, set[Account]] = defaultdict(set)
    for from_user, from_host, to_user, to_host in fetch_all(
            conn, "SELECT FROM_USER, FROM_HOST, TO_USER, TO_HOST FROM mysql.role_edges"):
        edges[Account(str(to_user), str(to_host))].add(Account(str(from_user), str(from_host)))
    return dict(edges)


def members_of(conn: Connection, roles: set[Account]) -> set[Account]:
    """Accounts a role in `roles` is granted to, directly or through other roles."""
    granted_to: dict[Account, set[Account]] = defaultdict(set)
    for account, held in role_edges(conn).items():
        for role in held:
            granted_to[role].add(account)
    return _reachable(roles, granted_to)


def mandatory_roles(conn: Connection) -> list[Account]:
    text = str(fetch_all(conn, "SELECT @@GLOBAL.mandatory_roles")[0][0] or "")
    return [Account(*parse_account(part)) for part in _split_roles(text)]


def _split_roles(text: str) -> list[str]:
    return [part.strip() for part in re.split(r",(?=(?:[^`']*[`'][^`']*[`'])*[^`']*$)", text)
            if part.strip()]


