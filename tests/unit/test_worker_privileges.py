"""The dump account's privilege check (pure): what each server needs, how grants match."""

from __future__ import annotations

import pytest

from tenant_exit.mysql.grant_lines import parse_grant_line
from tenant_exit.mysql.inventory import TableInfo
from tenant_exit.mysql.names import like_matches
from tenant_exit.worker.plan import SchemaPlan
from tenant_exit.worker.privileges import (
    Grants,
    ServerKind,
    describe,
    grants_from_lines,
    missing_privileges,
    server_kind,
)

DUMP = frozenset({"SELECT", "SHOW VIEW", "TRIGGER", "EVENT"})


def table(name: str, kind: str = "BASE TABLE") -> TableInfo:
    return TableInfo(schema="zorg", name=name, type=kind, engine="InnoDB", rows_estimate=0,
                     data_bytes=0, index_bytes=0)


PLAN = SchemaPlan("zorg", included=[table("clients"), table("v_open", "VIEW")])


def grants(**kw: object) -> Grants:
    return Grants(account="'dump'@'%'", **kw)  # type: ignore[arg-type]


def names(missing: list) -> list[str]:
    return [f"{m.privilege} on {m.on}" for m in missing]


@pytest.mark.parametrize(("version", "kind"), [
    ("10.11.19-MariaDB-0+deb12u1", ServerKind.MARIADB),
    ("8.0.36", ServerKind.MYSQL8),
    ("8.4.0-commercial", ServerKind.MYSQL8),
    ("5.7.44-log", ServerKind.MYSQL57),
])
def test_server_kind(version: str, kind: ServerKind) -> None:
    assert server_kind(version) is kind


def test_least_privilege_account_on_mariadb_and_mysql57() -> None:
    account = grants(schema_privileges={"zorg": DUMP},
                     table_privileges={("mysql", "proc"): frozenset({"SELECT"})})
    for kind in (ServerKind.MARIADB, ServerKind.MYSQL57):
        assert missing_privileges(account, [PLAN], kind) == []


def test_mysql8_needs_show_routine_not_mysql_proc() -> None:
    account = grants(schema_privileges={"zorg": DUMP},
                     table_privileges={("mysql", "proc"): frozenset({"SELECT"})})
    assert names(missing_privileges(account, [PLAN], ServerKind.MYSQL8)) == [
        "SHOW_ROUTINE (or global SELECT) on *.*"]
    with_show_routine = grants(global_privileges=frozenset({"SHOW_ROUTINE"}),
                               schema_privileges={"zorg": DUMP})
    assert missing_privileges(with_show_routine, [PLAN], ServerKind.MYSQL8) == []


def test_each_missing_schema_privilege_is_named() -> None:
    for lacking in sorted(DUMP):
        account = grants(schema_privileges={"zorg": DUMP - {lacking}},
                         table_privileges={("mysql", "proc"): frozenset({"SELECT"})})
        assert names(missing_privileges(account, [PLAN], ServerKind.MARIADB)) == [
            f"{lacking} on `zorg`.*"]


def test_no_routine_access_is_named_with_why() -> None:
    [missing] = missing_privileges(grants(schema_privileges={"zorg": DUMP}), [PLAN],
                                   ServerKind.MARIADB)
    assert (missing.privilege, missing.on) == ("SELECT", "mysql.proc")
    assert "routines" in missing.why


def test_global_grants_cover_everything() -> None:
    account = grants(global_privileges=DUMP)
    assert missing_privileges(account, [PLAN], ServerKind.MARIADB) == []
    assert missing_privileges(account, [PLAN], ServerKind.MYSQL8) == []


def test_wildcard_schema_grants() -> None:
    account = grants(schema_privileges={"zorg\\_%": DUMP, "mysql": frozenset({"SELECT"})})
    other = SchemaPlan("zorg_noord", included=PLAN.included)
    assert missing_privileges(account, [other], ServerKind.MARIADB) == []
    # `zorg\_%` needs the underscore: `zorg` itself is not covered.
    assert len(missing_privileges(account, [PLAN], ServerKind.MARIADB)) == len(DUMP)


def test_table_level_grants_never_count() -> None:
    """Issue 10, scenario 5: table grants that cover every table the account can
    see prove nothing about the tables it cannot see (they are not in the plan)."""
    proc = {("mysql", "proc"): frozenset({"SELECT"})}
    account = grants(schema_privileges={"zorg": frozenset({"EVENT"})}, table_privileges={
        **proc, ("zorg", "clients"): frozenset({"SELECT", "TRIGGER"}),
        ("zorg", "v_open"): frozenset({"SELECT", "SHOW VIEW"})})
    assert names(missing_privileges(account, [PLAN], ServerKind.MARIADB)) == [
        "SELECT on `zorg`.*", "SHOW VIEW on `zorg`.*", "TRIGGER on `zorg`.*"]


@pytest.mark.parametrize(("pattern", "name", "match"), [
    ("zorg", "zorg", True), ("zorg", "Zorg", False), ("zorg%", "zorg_noord", True),
    ("zorg\\_%", "zorg_noord", True), ("zorg\\_%", "zorgXnoord", False),
    ("zorg_%", "zorgXnoord", True), ("%", "anything", True), ("z.rg", "zorg", False),
])
def test_like_matches(pattern: str, name: str, match: bool) -> None:
    assert like_matches(pattern, name) is match


def test_message_names_account_privileges_and_where_to_read() -> None:
    missing = missing_privileges(grants(schema_privileges={"zorg": DUMP - {"TRIGGER"}}),
                                 [PLAN], ServerKind.MARIADB)
    text = describe("'dump'@'%'", missing)
    assert "'dump'@'%'" in text and "TRIGGER on `zorg`.*" in text
    assert "SELECT on mysql.proc" in text and "Dump account privileges" in text


def from_show_grants(*lines: str) -> Grants:
    return grants_from_lines("'dump'@'%'", [parse_grant_line(line) for line in lines])


def test_mysql8_grants_through_a_role_count_when_show_grants_expands_them() -> None:
    """`SHOW GRANTS ... USING role` lists the role's privileges beside the role line."""
    account = from_show_grants(
        "GRANT USAGE ON *.* TO `dump`@`%`",
        "GRANT SHOW_ROUTINE ON *.* TO `dump`@`%`",
        "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON `zorg`.* TO `dump`@`%`",
        "GRANT `dump_role`@`%` TO `dump`@`%`")
    assert missing_privileges(account, [PLAN], ServerKind.MYSQL8) == []


def test_mysql8_missing_show_routine_is_named() -> None:
    account = from_show_grants(
        "GRANT USAGE ON *.* TO `dump`@`%`",
        "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON `zorg`.* TO `dump`@`%`")
    (missing,) = missing_privileges(account, [PLAN], ServerKind.MYSQL8)
    assert missing.privilege.startswith("SHOW_ROUTINE") and missing.on == "*.*"
    assert "SHOW_ROUTINE" in describe(account.account, [missing])


def test_a_partial_revoke_takes_a_global_privilege_away_on_that_schema() -> None:
    account = from_show_grants(
        "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON *.* TO `dump`@`%`",
        "REVOKE TRIGGER ON `zorg`.* FROM `dump`@`%`")
    assert names(missing_privileges(account, [PLAN], ServerKind.MYSQL8)) == ["TRIGGER on `zorg`.*"]


def test_all_privileges_and_column_grants() -> None:
    assert missing_privileges(from_show_grants("GRANT ALL PRIVILEGES ON `zorg`.* TO `dump`@`%`",
                                               "GRANT SHOW_ROUTINE ON *.* TO `dump`@`%`"),
                              [PLAN], ServerKind.MYSQL8) == []
    # A column privilege does not let mysqldump read the whole table.
    only_columns = from_show_grants("GRANT SELECT (`id`) ON `zorg`.`clients` TO `dump`@`%`")
    assert "SELECT on `zorg`.*" in names(missing_privileges(only_columns, [PLAN],
                                                            ServerKind.MARIADB))
