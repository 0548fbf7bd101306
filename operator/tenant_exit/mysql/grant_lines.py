"""SHOW GRANTS lines, parsed: what information_schema does not say.

information_schema's *_PRIVILEGES tables list each account's own grants only.
Two MySQL 8.0+ features are invisible there, and both decide what an account
can really do:
- roles: `GRANT `app_writer`@`%` TO `app`@`%`` (and default roles activated at
  login) give `app` whatever the role holds;
- partial revokes (`partial_revokes=ON`): `REVOKE INSERT ON `zorg`.* FROM u`
  takes a global privilege away on one schema, visible only as a REVOKE line.
`SHOW GRANTS FOR u USING <roles>` lists both, expanded, so the dump check and
RevokeWrites parse it. The parser is pure and knows the shapes MySQL 5.7/8.0+
and MariaDB print; a line it cannot read raises rather than being skipped, so
a grant is never silently overlooked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENT = r"(?:`(?:[^`]|``)*`|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[\w$%*-]+)"
_ACCOUNT = rf"{_IDENT}(?:@{_IDENT})?"
_OBJECT = re.compile(
    rf"^(?:(?:PROCEDURE|FUNCTION|TABLE)\s+)?(?P<db>{_IDENT})\.(?P<table>{_IDENT})$",
    re.IGNORECASE)
_PRIVILEGE_LINE = re.compile(
    r"^(?P<verb>GRANT|REVOKE)\s+(?P<privileges>.+?)\s+ON\s+(?P<object>.+?)\s+"
    rf"(?:TO|FROM)\s+(?P<grantee>{_ACCOUNT})(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_QUOTED = r"(?:`(?:[^`]|``)*`|'(?:[^']|'')*')"
_ROLE = rf"{_QUOTED}(?:@{_QUOTED})?"
# Roles are always printed quoted, which tells them from a privilege keyword.
_ROLE_LINE = re.compile(
    rf"^GRANT\s+(?P<roles>{_ROLE}(?:\s*,\s*{_ROLE})*)\s+TO\s+(?P<grantee>{_ACCOUNT})"
    r"(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_COLUMNS = re.compile(r"^(?P<privilege>[A-Z_ ]+?)\s*\((?P<columns>.*)\)$", re.DOTALL)


class UnreadableGrant(ValueError):
    """A SHOW GRANTS line of a shape this parser does not know."""


def unquote(ident: str) -> str:
    """`zorg` / 'zorg' / "zorg" / zorg -> zorg, doubled quotes undone."""
    if len(ident) >= 2 and ident[0] == ident[-1] and ident[0] in "`'\"":
        quote = ident[0]
        return ident[1:-1].replace(quote * 2, quote)
    return ident


def parse_account(text: str) -> tuple[str, str]:
    """`'u'@'h'`, `` `u`@`h` `` or a MariaDB role name without host -> (user, host)."""
    found = re.fullmatch(rf"(?P<user>{_IDENT})(?:@(?P<host>{_IDENT}))?", text.strip())
    if not found:
        raise UnreadableGrant(f"not an account: {text!r}")
    return unquote(found["user"]), unquote(found["host"] or "")


@dataclass(frozen=True)
class Privilege:
    name: str
    """Upper case, as SHOW GRANTS prints it (`SELECT`, `SHOW VIEW`, `SHOW_ROUTINE`)."""
    columns: tuple[str, ...] = ()
    """Column privileges (`UPDATE (`a`)`) name their columns; empty otherwise."""


@dataclass(frozen=True)
class GrantLine:
    """One SHOW GRANTS line: privileges on an object, or roles."""

    revoke: bool
    """A partial revoke (`REVOKE ... FROM`), only with partial_revokes=ON."""
    privileges: tuple[Privilege, ...] = ()
    schema: str | None = None
    """None for `*.*`; the schema name or LIKE pattern otherwise (as granted)."""
    table: str | None = None
    """None for `db.*`; a table or routine name otherwise."""
    routine: bool = False
    roles: tuple[tuple[str, str], ...] = ()
    """For `GRANT role TO ...` lines: the (user, host) of each role."""

    @property
    def is_global(self) -> bool:
        return self.schema is None and not self.roles


def split_privileges(text: str) -> list[str]:
    """`SELECT, UPDATE (`a`, `b`), SHOW VIEW` -> items; commas inside () kept."""
    items, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        items.append(current.strip())
    return items


def _privilege(item: str) -> Privilege:
    found = _COLUMNS.match(item)
    if found:
        columns = tuple(unquote(c.strip()) for c in found["columns"].split(","))
        return Privilege(found["privilege"].strip().upper(), columns)
    name = " ".join(item.split()).upper()
    return Privilege("ALL PRIVILEGES" if name == "ALL" else name)


def parse_grant_line(line: str) -> GrantLine:
    """One line of SHOW GRANTS (pure). Raises UnreadableGrant for unknown shapes."""
    text = " ".join(line.strip().split())
    found = _PRIVILEGE_LINE.match(text)
    if found and not text.upper().startswith("GRANT PROXY "):
        target = found["object"]
        if target == "*.*" or target == "*":
            schema, table, routine = None, None, False
        else:
            obj = _OBJECT.match(target)
            if not obj:
                raise UnreadableGrant(f"unknown object {target!r} in: {line}")
            schema = unquote(obj["db"])
            table = None if obj["table"] == "*" else unquote(obj["table"])
            routine = target.upper().startswith(("PROCEDURE ", "FUNCTION "))
        return GrantLine(revoke=found["verb"].upper() == "REVOKE",
                         privileges=tuple(_privilege(p)
                                          for p in split_privileges(found["privileges"])),
                         schema=schema, table=table, routine=routine)
    if text.upper().startswith("GRANT PROXY "):
        return GrantLine(revoke=False)  # proxying is not a privilege on data
    role = _ROLE_LINE.match(text)
    if role:
        roles = tuple(parse_account(r) for r in re.findall(_ROLE, role["roles"]))
        return GrantLine(revoke=False, roles=roles)
    raise UnreadableGrant(f"unknown SHOW GRANTS line: {line}")
