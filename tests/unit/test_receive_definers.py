"""The definer policy of `tenant-exit load`, on the lines mysqldump and
mariadb-dump actually write, and the pure planning of a load."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from tenant_exit.receive.definers import DefinerPolicy, Definers, LineFilter
from tenant_exit.receive.load import LoadProblem, compare, parse_schema_map, plan
from tenant_exit.storage.manifest import (
    DatabaseRecord,
    Encryption,
    Manifest,
    ObjectKind,
    SchemaRecord,
    StoredObject,
    TableRows,
    Totals,
)

VIEW = b"/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n"
TRIGGER = (b"/*!50003 CREATE*/ /*!50017 DEFINER=`app`@`%`*/ /*!50003 TRIGGER `t` BEFORE "
           b"INSERT ON `clients` FOR EACH ROW SET NEW.x = 1 */;;\n")
ROUTINE = b"CREATE DEFINER=`root`@`localhost` PROCEDURE `p`()\n"
EVENT = (b"/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`localhost`*/ /*!50106 EVENT `e` ON "
         b"SCHEDULE EVERY 1 DAY DO SELECT 1 */ ;;\n")
FUNCTION = b"CREATE DEFINER=`o``dd`@`10.0.%` FUNCTION `f`() RETURNS int(11)\n"

STRIPPED = [
    pytest.param(VIEW, b"/*!50013  SQL SECURITY DEFINER */\n", id="view"),
    pytest.param(TRIGGER, b"/*!50003 CREATE*/  /*!50003 TRIGGER `t` BEFORE INSERT ON `clients` "
                          b"FOR EACH ROW SET NEW.x = 1 */;;\n", id="trigger"),
    pytest.param(ROUTINE, b"CREATE  PROCEDURE `p`()\n", id="procedure"),
    pytest.param(EVENT, b"/*!50106 CREATE*/  /*!50106 EVENT `e` ON SCHEDULE EVERY 1 DAY DO "
                        b"SELECT 1 */ ;;\n", id="event"),
    pytest.param(FUNCTION, b"CREATE  FUNCTION `f`() RETURNS int(11)\n", id="quoted-backtick"),
]


@pytest.mark.parametrize(("line", "expected"), STRIPPED)
def test_strip_removes_every_definer_form_mysqldump_writes(line: bytes, expected: bytes) -> None:
    assert Definers().apply(line) == expected


def test_rewrite_names_the_given_account() -> None:
    definers = Definers(DefinerPolicy.REWRITE, "archivist@localhost")
    assert definers.apply(ROUTINE) == b"CREATE DEFINER=`archivist`@`localhost` PROCEDURE `p`()\n"
    assert b"DEFINER=`archivist`@`localhost`" in definers.apply(TRIGGER)


def test_rewrite_without_an_account_is_refused() -> None:
    with pytest.raises(ValueError, match="definer-account"):
        Definers(DefinerPolicy.REWRITE)


def test_keep_and_row_data_are_left_alone() -> None:
    assert Definers(DefinerPolicy.KEEP).apply(VIEW) == VIEW
    data = b"INSERT INTO `notes` VALUES (1,'DEFINER=`root`@`localhost` is text here');\n"
    assert Definers().apply(data) == data


def test_the_filter_applies_to_whole_lines_across_chunk_borders() -> None:
    out = io.BytesIO()
    lines = LineFilter(Definers(), out)
    stream = b"-- head\n" + ROUTINE + b"SELECT 1;"
    for i in range(0, len(stream), 7):  # chunks that split the DEFINER clause
        lines.write(stream[i:i + 7])
    lines.close()
    assert out.getvalue() == b"-- head\nCREATE  PROCEDURE `p`()\nSELECT 1;"
    assert lines.changed == 1


def manifest() -> Manifest:
    now = datetime(2027, 3, 2, tzinfo=UTC)
    stored = StoredObject(key="p/x/attempt-1/database-ons.sql.zst.age", kind=ObjectKind.DATABASE,
                          name="ons", content="application/sql", size=1, sha256="0" * 64,
                          plaintext_bytes=1, plaintext_sha256="0" * 64)
    schema = SchemaRecord(name="ons", object_key=stored.key,
                          tables=[TableRows(name="clients", rows=60)], views=["v"],
                          triggers=["t"])
    return Manifest(
        exit_name="x", attempt=1, started_at=now, completed_at=now,
        encryption=Encryption(recipients=["age1x"]), objects=[stored],
        database=DatabaseRecord(server_version="10.11", dump_tool="mariadb-dump",
                                dump_options=[], exclude_patterns=[], exclusion_reason="",
                                schemas=[schema]),
        totals=Totals(tables=1, rows=60, database_bytes=1, files=0, document_bytes=0),
    )


def test_plan_maps_schemas_and_refuses_unknown_ones() -> None:
    assert [x.target for x in plan(manifest(), {})] == ["ons"]
    assert [x.target for x in plan(manifest(), parse_schema_map(["ons=archive"]))] == ["archive"]
    with pytest.raises(LoadProblem, match="does not hold"):
        plan(manifest(), {"other": "x"})
    with pytest.raises(LoadProblem, match="SOURCE=TARGET"):
        parse_schema_map(["ons"])


def test_compare_reports_row_differences_and_missing_objects() -> None:
    (record,) = manifest().database.schemas  # type: ignore[union-attr]
    counts = compare(record, {"clients": 59}, {"view": {"v"}, "trigger": set()})
    assert [(c.kind, c.name, c.ok) for c in counts] == [
        ("table", "clients", False), ("view", "v", True), ("trigger", "t", False)]
    assert all(c.ok for c in compare(record, {"clients": 60}, {"view": {"v"}, "trigger": {"t"}}))
