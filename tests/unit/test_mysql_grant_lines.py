"""SHOW GRANTS lines as MySQL 5.7/8.0+/9.x and MariaDB print them (pure parsing), and the
operator-account check of RevokeWrites built on them."""

from __future__ import annotations

import pytest

from tenant_exit.mysql.grant_lines import (
    Privilege,
    UnreadableGrant,
    parse_account,
    parse_grant_line,
    split_privileges,
)
from tenant_exit.mysql.grants import missing_operator_privileges
from tenant_exit.mysql.roles import _split_roles
from tenant_exit.mysql.server import ServerFamily


def test_schema_grant_with_column_privileges_and_grant_option() -> None:
    line = parse_grant_line("GRANT SELECT, INSERT, UPDATE (`name`, `a``b`) ON `zorg`.`clients` "
                            "TO `app`@`%` WITH GRANT OPTION")
    assert not line.revoke and line.schema == "zorg" and line.table == "clients"
    assert line.privileges == (Privilege("SELECT"), Privilege("INSERT"),
                               Privilege("UPDATE", ("name", "a`b")))


def test_global_dynamic_and_partial_revoke_lines() -> None:
    assert parse_grant_line("GRANT SHOW_ROUTINE,CONNECTION_ADMIN ON *.* TO `op`@`%`").is_global
    revoke = parse_grant_line("REVOKE INSERT, DELETE ON `zorg`.* FROM `app`@`%`")
    assert revoke.revoke and revoke.schema == "zorg" and revoke.table is None
    assert [p.name for p in revoke.privileges] == ["INSERT", "DELETE"]


def test_schema_patterns_stay_as_granted() -> None:
    line = parse_grant_line("GRANT INSERT ON `ons\\_%`.* TO 'app'@'10.0.0.%'")
    assert line.schema == "ons\\_%"


def test_role_lines_list_their_roles() -> None:
    line = parse_grant_line("GRANT `app_writer`@`%`,`reporting`@`localhost` TO `app`@`%` "
                            "WITH ADMIN OPTION")
    assert line.roles == (("app_writer", "%"), ("reporting", "localhost"))
    assert not line.is_global and line.privileges == ()
    assert parse_grant_line("GRANT `writer` TO `app`@`%`").roles == (("writer", ""),)  # MariaDB


def test_routine_and_proxy_and_mariadb_password_lines() -> None:
    routine = parse_grant_line("GRANT EXECUTE ON PROCEDURE `zorg`.`close_case` TO `app`@`%`")
    assert routine.routine and routine.table == "close_case"
    assert parse_grant_line("GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION"
                            ).privileges == ()
    mariadb = parse_grant_line("GRANT USAGE ON *.* TO `dump`@`%` IDENTIFIED BY PASSWORD "
                               "'*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'")
    assert mariadb.is_global and mariadb.privileges == (Privilege("USAGE"),)


def test_an_unknown_shape_is_an_error_not_a_skipped_grant() -> None:
    with pytest.raises(UnreadableGrant):
        parse_grant_line("GRANT SELECT TO nobody")


def test_split_privileges_keeps_column_lists() -> None:
    assert split_privileges("SELECT (`a`, `b`), SHOW VIEW") == ["SELECT (`a`, `b`)", "SHOW VIEW"]
    assert parse_account("'o''brien'@'%'") == ("o'brien", "%")


def test_mandatory_roles_split_like_the_server_prints_them() -> None:
    assert _split_roles("`r1`@`%`,`r,2`@`localhost`") == ["`r1`@`%`", "`r,2`@`localhost`"]
    assert _split_roles("") == []


def lines(*text: str) -> list:
    return [parse_grant_line(t) for t in text]


def test_the_operator_account_needs_mysql_select_process_and_session_kill() -> None:
    bare = lines("GRANT SELECT, INSERT ON `zorg`.* TO `op`@`%` WITH GRANT OPTION")
    missing = missing_operator_privileges(bare, ServerFamily.MYSQL)
    assert [m.split(" ")[0] for m in missing] == ["SELECT", "PROCESS", "CONNECTION_ADMIN"]
    enough = lines("GRANT PROCESS ON *.* TO `op`@`%`", "GRANT CONNECTION_ADMIN ON *.* TO `op`@`%`",
                   "GRANT SELECT ON `mysql`.* TO `op`@`%`")
    assert missing_operator_privileges(enough, ServerFamily.MYSQL) == []
    assert missing_operator_privileges(lines("GRANT ALL PRIVILEGES ON *.* TO `root`@`%`"),
                                       ServerFamily.MARIADB) == []
    mariadb = lines("GRANT PROCESS, CONNECTION ADMIN ON *.* TO `op`@`%`",
                    "GRANT SELECT ON `mysql`.* TO `op`@`%`")
    assert missing_operator_privileges(mariadb, ServerFamily.MARIADB) == []
