"""mysqldump command line and completeness check (pure)."""

from __future__ import annotations

import pytest

from tenant_exit.worker.dump import (
    ClientFlavour,
    client_flavour,
    dump_argv,
    dump_is_complete,
)


def test_mariadb_client_flags_and_exclusions() -> None:
    argv = dump_argv("/usr/bin/mariadb-dump", ClientFlavour.MARIADB, host="db", port=3307,
                     user="dump", schema="zorg", ignore_tables=["audit_log", "import_rows"])
    for flag in ("--single-transaction", "--quick", "--routines", "--triggers", "--events",
                 "--hex-blob", "--no-tablespaces", "--default-character-set=utf8mb4"):
        assert flag in argv
    assert "--ignore-table=zorg.audit_log" in argv and "--ignore-table=zorg.import_rows" in argv
    assert argv[-1] == "zorg"  # no --databases: loads into any schema name
    assert "--databases" not in argv
    assert not [a for a in argv if "gtid" in a or "column-statistics" in a]
    assert not [a for a in argv if a.startswith(("--password", "-p"))]


def test_mysql_client_gets_gtid_and_column_statistics_off() -> None:
    argv = dump_argv("mysqldump", ClientFlavour.MYSQL, host="db", port=3306, user="dump",
                     schema="zorg", ignore_tables=[])
    assert "--set-gtid-purged=OFF" in argv and "--column-statistics=0" in argv


@pytest.mark.parametrize(("line", "flavour"), [
    ("mariadb-dump from 11.4.2-MariaDB, client 10.19 for debian-linux-gnu (x86_64)",
     ClientFlavour.MARIADB),
    ("mysqldump  Ver 10.19 Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)",
     ClientFlavour.MARIADB),
    ("mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)",
     ClientFlavour.MYSQL),
])
def test_client_flavour(line: str, flavour: ClientFlavour) -> None:
    assert client_flavour(line) is flavour


@pytest.mark.parametrize(("tail", "complete"), [
    (b"INSERT INTO t VALUES (1);\n-- Dump completed on 2025-01-01 10:00:00\n", True),
    (b"-- Dump completed\n\n\n", True),
    (b"INSERT INTO t VALUES (1),(2", False),  # cut off mid-statement
    (b"-- Dump completed on 2025\nINSERT INTO t VALUES (1);\n", False),
    (b"", False),
])
def test_dump_completeness(tail: bytes, complete: bool) -> None:
    assert dump_is_complete(tail) is complete
