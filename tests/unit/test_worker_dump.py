"""mysqldump command line and completeness check (pure)."""

from __future__ import annotations

import pytest

from tenant_exit.mysql.server import ServerFamily, ServerInfo, family_of
from tenant_exit.worker.clients import DumpClient, choose_client, client_family
from tenant_exit.worker.dump import dump_argv, dump_is_complete, dump_options, supports
from tenant_exit.worker.processes import ToolMissing

# Excerpts of real `--help` texts: the option lines the flag selection reads.
MARIADB_HELP = """mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
  -y, --no-tablespaces
                      Do not dump any tablespace information.
  --gtid              Used together with --master-data=1 or --dump-slave=1.
"""
MYSQL80_HELP = """mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)
  --column-statistics Add an ANALYZE TABLE statement to regenerate histogram
                      statistics.
  --set-gtid-purged[=name]
                      Add 'SET @@GLOBAL.GTID_PURGED' to the output.
  --get-server-public-key
                      Get server public key
"""
# 5.7's client predates --column-statistics (8.0.2); the prose line is invented to show
# that only option lines count.
MYSQL57_HELP = """mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)
  --set-gtid-purged[=name]
                      Add 'SET @@GLOBAL.GTID_PURGED' to the output. Unlike
                      --column-statistics of later clients.
  --get-server-public-key
                      Get server public key
"""
MARIADB = DumpClient("/usr/bin/mariadb-dump", MARIADB_HELP.splitlines()[0], MARIADB_HELP)
MYSQL80 = DumpClient("/opt/mysql/bin/mysqldump", MYSQL80_HELP.splitlines()[0], MYSQL80_HELP)
MYSQL57 = DumpClient("/opt/mysql/bin/mysqldump", MYSQL57_HELP.splitlines()[0], MYSQL57_HELP)
MARIADB_MYSQLDUMP = DumpClient(
    "/usr/bin/mysqldump", "mysqldump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu")


def test_mariadb_client_flags_and_exclusions() -> None:
    argv = dump_argv(MARIADB, host="db", port=3307, user="dump", schema="zorg",
                     ignore_tables=["audit_log", "import_rows"])
    for flag in ("--single-transaction", "--quick", "--routines", "--triggers", "--events",
                 "--hex-blob", "--no-tablespaces", "--default-character-set=utf8mb4"):
        assert flag in argv
    assert "--ignore-table=zorg.audit_log" in argv and "--ignore-table=zorg.import_rows" in argv
    assert argv[0] == "/usr/bin/mariadb-dump"
    assert argv[-1] == "zorg"  # no --databases: loads into any schema name
    assert "--databases" not in argv
    assert not [a for a in argv if "gtid" in a or "column-statistics" in a or "public-key" in a]
    assert not [a for a in argv if a.startswith(("--password", "-p"))]


def test_mysql80_client_gets_gtid_column_statistics_and_public_key_flags() -> None:
    options = dump_options(MYSQL80)
    assert {"--set-gtid-purged=OFF", "--column-statistics=0",
            "--get-server-public-key"} <= set(options)
    assert "--no-tablespaces" in options and "--single-transaction" in options


def test_column_statistics_only_where_the_client_lists_the_option() -> None:
    """A client without the option (5.7's) would refuse `--column-statistics=0`."""
    options = dump_options(MYSQL57)
    assert "--set-gtid-purged=OFF" in options and "--get-server-public-key" in options
    assert "--column-statistics=0" not in options
    assert not supports(MYSQL57_HELP, "--column-statistics")
    assert supports(MARIADB_HELP, "--no-tablespaces")


@pytest.mark.parametrize(("line", "family"), [
    ("mariadb-dump from 11.4.2-MariaDB, client 10.19 for debian-linux-gnu (x86_64)",
     ServerFamily.MARIADB),
    ("mysqldump  Ver 10.19 Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)",
     ServerFamily.MARIADB),
    ("mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)",
     ServerFamily.MYSQL),
    ("mysqldump  Ver 9.7.4-2 for Linux on x86_64 ((Debian))", ServerFamily.MYSQL),
])
def test_client_family(line: str, family: ServerFamily) -> None:
    assert client_family(line) is family


@pytest.mark.parametrize(("version", "comment", "family"), [
    ("10.11.19-MariaDB-0+deb12u1", "Debian 12", ServerFamily.MARIADB),
    ("11.4.2-MariaDB", "mariadb.org binary distribution", ServerFamily.MARIADB),
    ("5.5.5-10.6.12-MariaDB-log", "MariaDB Server", ServerFamily.MARIADB),  # old handshake
    ("10.6.12", "MariaDB Server", ServerFamily.MARIADB),  # a vendor build without the suffix
    ("8.0.36", "MySQL Community Server - GPL", ServerFamily.MYSQL),
    ("5.7.44-log", "MySQL Community Server (GPL)", ServerFamily.MYSQL),
    ("9.7.0", "Source distribution", ServerFamily.MYSQL),
    ("8.0.35-27", "Percona Server (GPL), Release 27", ServerFamily.MYSQL),
])
def test_family_comes_from_version_and_comment(version: str, comment: str,
                                               family: ServerFamily) -> None:
    assert family_of(version, comment) is family


def server(family: ServerFamily, version: str) -> ServerInfo:
    return ServerInfo(family=family, version=version)


def test_the_servers_family_picks_the_client_not_the_name() -> None:
    mysql = server(ServerFamily.MYSQL, "9.7.0")
    assert choose_client(mysql, [MARIADB_MYSQLDUMP, MYSQL80]) is MYSQL80
    assert choose_client(server(ServerFamily.MARIADB, "10.11.19-MariaDB"),
                         [MARIADB, MYSQL80]) is MARIADB


def test_a_missing_client_of_the_family_fails_and_says_what_to_do() -> None:
    with pytest.raises(ToolMissing) as raised:
        choose_client(server(ServerFamily.MYSQL, "8.0.36"), [MARIADB_MYSQLDUMP])
    message = str(raised.value)
    assert "mysql 8.0.36" in message and "MariaDB" in message  # what was found instead
    assert "TENANT_EXIT_MYSQL_DUMP_PATH" in message and "nothing was written" in message
    with pytest.raises(ToolMissing, match="TENANT_EXIT_MARIADB_DUMP_PATH"):
        choose_client(server(ServerFamily.MARIADB, "10.11.19-MariaDB"), [MYSQL80])


@pytest.mark.parametrize(("tail", "complete"), [
    (b"INSERT INTO t VALUES (1);\n-- Dump completed on 2025-01-01 10:00:00\n", True),
    (b"-- Dump completed\n\n\n", True),
    (b"INSERT INTO t VALUES (1),(2", False),  # cut off mid-statement
    (b"-- Dump completed on 2025\nINSERT INTO t VALUES (1);\n", False),
    (b"", False),
])
def test_dump_completeness(tail: bytes, complete: bool) -> None:
    assert dump_is_complete(tail) is complete
