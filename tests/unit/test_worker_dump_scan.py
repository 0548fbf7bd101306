# ruff: noqa: E501  (the samples keep the clients' own long lines)
"""The dump-stream scanner and the completeness decision (pure).

The two samples follow what the two families' clients write for the same small
schema (mysqldump 9.7 and mariadb-dump 10.11, trimmed): stand-in views, version
comments around triggers and events, `DELIMITER ;;` blocks, mariadb-dump's one
row per line and its triggers' statements as typed (bare names); the
sandbox line is removed before the scanner sees the stream. The real
clients' output is scanned in tests/integration/test_backup_completeness.py.
"""

from __future__ import annotations

import random

import pytest

from tenant_exit.mysql.inventory import Inventory, SchemaObjects, TableInfo
from tenant_exit.worker.completeness import (
    DumpCompleteness,
    DumpIncomplete,
    differences,
    expected_objects,
)
from tenant_exit.worker.dump_scan import DumpContents, DumpScanner, count_rows, statement_object
from tenant_exit.worker.plan import plan_database

MYSQLDUMP = rb"""-- MySQL dump 10.13  Distrib 9.7.4, for Linux (x86_64)
--
-- Host: 127.0.0.1    Database: zorg
-- ------------------------------------------------------
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!50503 SET NAMES utf8mb4 */;

--
-- Table structure for table `clients`
--

DROP TABLE IF EXISTS `clients`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!50503 SET character_set_client = utf8mb4 */;
CREATE TABLE `clients` (
  `id` int NOT NULL,
  `note` text COMMENT 'it''s a note; with a semicolon',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `clients`
--

LOCK TABLES `clients` WRITE;
/*!40000 ALTER TABLE `clients` DISABLE KEYS */;
INSERT INTO `clients` VALUES (1,'a),(b \'x\' \\ \n CREATE TABLE `z` ('),(2,NULL),(3,'(;)');
INSERT INTO `clients` VALUES (4,'four');
/*!40000 ALTER TABLE `clients` ENABLE KEYS */;
UNLOCK TABLES;
/*!50003 SET @saved_cs_client      = @@character_set_client */ ;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER `trg_clients` BEFORE INSERT ON `clients` FOR EACH ROW SET NEW.note = COALESCE(NEW.note, ';;')
 */;;
DELIMITER ;

--
-- Table structure for table `empty t`
--

DROP TABLE IF EXISTS `empty t`;
CREATE TABLE `empty t` (
  `id` int DEFAULT NULL
) ENGINE=InnoDB;

--
-- Temporary view structure for view `v_open`
--

DROP TABLE IF EXISTS `v_open`;
/*!50001 DROP VIEW IF EXISTS `v_open`*/;
SET @saved_cs_client     = @@character_set_client;
/*!50503 SET character_set_client = utf8mb4 */;
/*!50001 CREATE VIEW `v_open` AS SELECT
 1 AS `id` */;
SET character_set_client = @saved_cs_client;

--
-- Dumping events for database 'zorg'
--
/*!50106 SET @save_time_zone= @@TIME_ZONE */ ;
/*!50106 DROP EVENT IF EXISTS `ev_purge` */;
DELIMITER ;;
/*!50003 SET time_zone             = 'SYSTEM' */ ;;
/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`%`*/ /*!50106 EVENT `ev_purge` ON SCHEDULE EVERY 1 DAY STARTS '2026-12-01 13:09:57' ON COMPLETION NOT PRESERVE DISABLE DO DELETE FROM clients WHERE id < 0 */ ;;
/*!50003 SET time_zone             = @saved_time_zone */ ;;
DELIMITER ;

--
-- Dumping routines for database 'zorg'
--
/*!50003 DROP PROCEDURE IF EXISTS `mk` */;
DELIMITER ;;
CREATE DEFINER=`root`@`%` PROCEDURE `mk`()
BEGIN
-- it's a comment with a quote
CREATE TEMPORARY TABLE tmpx (id int);
CREATE TABLE `not_a_table` (id int);
SELECT 'a;b';
END ;;
DELIMITER ;
/*!50003 DROP FUNCTION IF EXISTS `mk` */;
DELIMITER ;;
CREATE DEFINER=`root`@`%` FUNCTION `mk`(p INT) RETURNS int
    DETERMINISTIC
RETURN p + 1 ;;
DELIMITER ;

--
-- Final view structure for view `v_open`
--

/*!50001 DROP VIEW IF EXISTS `v_open`*/;
/*!50001 CREATE ALGORITHM=UNDEFINED */
/*!50013 DEFINER=`root`@`%` SQL SECURITY DEFINER */
/*!50001 VIEW `v_open` AS select `clients`.`id` AS `id` from `clients` where (`clients`.`note` = ';') */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

-- Dump completed on 2026-12-01 13:10:01
"""

MARIADB_DUMP = rb"""-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: 127.0.0.1    Database: zorg
/*!40101 SET NAMES utf8mb4 */;

--
-- Table structure for table `clients`
--

DROP TABLE IF EXISTS `clients`;
CREATE TABLE `clients` (
  `id` int(11) NOT NULL,
  `note` text DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

LOCK TABLES `clients` WRITE;
/*!40000 ALTER TABLE `clients` DISABLE KEYS */;
INSERT INTO `clients` VALUES
(1,'a),(b \'x\' \\ \n CREATE TABLE `z` ('),
(2,NULL),
(3,'(;)'),
(4,'four');
/*!40000 ALTER TABLE `clients` ENABLE KEYS */;
UNLOCK TABLES;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`127.0.0.1`*/ /*!50003 TRIGGER trg_clients BEFORE INSERT ON clients FOR EACH ROW
SET NEW.note = COALESCE(NEW.note, ';;') */;;
DELIMITER ;

DROP TABLE IF EXISTS `empty t`;
CREATE TABLE `empty t` (
  `id` int(11) DEFAULT NULL
) ENGINE=InnoDB;

--
-- Temporary table structure for view `v_open`
--

DROP TABLE IF EXISTS `v_open`;
/*!50001 DROP VIEW IF EXISTS `v_open`*/;
/*!50001 CREATE TABLE `v_open` (
  `id` tinyint NOT NULL
) ENGINE=MyISAM */;

DROP SEQUENCE IF EXISTS `s_invoice`;
CREATE SEQUENCE `s_invoice` start with 1 minvalue 1 maxvalue 9223372036854775806 increment by 1 cache 1000 nocycle ENGINE=InnoDB;
SELECT SETVAL(`s_invoice`, 1001, 0);

DELIMITER ;;
/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`127.0.0.1`*/ /*!50106 EVENT `ev_purge` ON SCHEDULE EVERY 1 DAY STARTS '2026-12-01 13:09:57' ON COMPLETION NOT PRESERVE DISABLE DO DELETE FROM clients WHERE id < 0 */ ;;
DELIMITER ;
DELIMITER ;;
CREATE DEFINER=`root`@`127.0.0.1` PROCEDURE `mk`()
BEGIN
# it's a comment with a quote
CREATE TEMPORARY TABLE tmpx (id int);
CREATE TABLE `not_a_table` (id int);
SELECT 'a;b';
END ;;
DELIMITER ;
DELIMITER ;;
CREATE DEFINER=`root`@`127.0.0.1` FUNCTION `mk`(p INT) RETURNS int(11)
    DETERMINISTIC
RETURN p + 1 ;;
DELIMITER ;

/*!50001 DROP TABLE IF EXISTS `v_open`*/;
/*!50001 DROP VIEW IF EXISTS `v_open`*/;
/*!50001 CREATE ALGORITHM=UNDEFINED */
/*!50013 DEFINER=`root`@`127.0.0.1` SQL SECURITY DEFINER */
/*!50001 VIEW `v_open` AS select `clients`.`id` AS `id` from `clients` where `clients`.`note` = ';' */;

-- Dump completed on 2026-12-01 13:10:01
"""

SAMPLES = {"mysqldump": MYSQLDUMP, "mariadb-dump": MARIADB_DUMP}


def scan(data: bytes, sizes: list[int] | None = None) -> DumpContents:
    scanner = DumpScanner()
    pos, turn = 0, 0
    while pos < len(data):
        size = sizes[turn % len(sizes)] if sizes else len(data)
        scanner.feed(data[pos:pos + size])
        pos, turn = pos + size, turn + 1
    return scanner.finish()


@pytest.mark.parametrize("client", SAMPLES)
def test_objects_and_rows_of_each_family(client: str) -> None:
    found = scan(SAMPLES[client])
    assert found.tables == {"clients", "empty t"}
    assert found.views == {"v_open"}
    assert found.procedures == {"mk"} and found.functions == {"mk"}
    assert found.triggers == {"trg_clients"}
    assert found.events == {"ev_purge"}
    assert found.sequences == ({"s_invoice"} if client == "mariadb-dump" else set())
    assert found.rows == {"clients": 4}


@pytest.mark.parametrize("client", SAMPLES)
def test_any_chunking_gives_the_same_result(client: str) -> None:
    data = SAMPLES[client]
    whole = scan(data)
    assert scan(data, [1]) == whole
    rnd = random.Random(7)
    for _ in range(40):
        assert scan(data, [rnd.randint(1, 97) for _ in range(13)]) == whole


def random_value(rnd: random.Random) -> bytes:
    kind = rnd.randrange(5)
    if kind == 0:
        return b"NULL"
    if kind == 1:
        return str(rnd.randint(-10**6, 10**6)).encode()
    if kind == 2:
        return b"0x" + rnd.randbytes(rnd.randint(1, 40)).hex().encode()
    text = "".join(rnd.choice(["a", "(", ")", ",", ";", "\\'", "\\\\", "\\n", "),(", "é", " "])
                   for _ in range(rnd.randint(0, 30)))
    return b"'" + text.encode() + b"'"


@pytest.mark.parametrize("layout", ["one-line", "row-per-line"])
def test_row_counts_agree_on_every_path(layout: str) -> None:
    """Whole statements (each of count_rows' ways) and statements streamed past in
    tiny chunks count the same rows."""
    rnd = random.Random(3)
    for _ in range(60):
        rows = [b"(" + b",".join(random_value(rnd) for _ in range(rnd.randint(1, 6))) + b")"
                for _ in range(rnd.randint(1, 25))]
        joiner, lead = (b",", b" ") if layout == "one-line" else (b",\n", b"\n")
        values = lead + joiner.join(rows)
        assert count_rows(values) == len(rows), values
        statement = b"INSERT INTO `t` VALUES" + values + b";\n"
        assert scan(statement, [rnd.randint(1, 9)]).rows == {"t": len(rows)}


def test_a_statement_larger_than_is_held_is_counted_as_it_streams() -> None:
    blob = b"0x" + b"ab" * (5 << 20)
    statement = (b"INSERT INTO `docs` VALUES (1," + blob + b",'a (quoted) name'),(2,"
                 + blob + b",'x;y');\n")
    found = scan(statement + b"CREATE TABLE `after` (id int);\n", [1 << 16])
    assert found.rows == {"docs": 2}
    assert found.tables == {"after"}


@pytest.mark.parametrize(("statement", "expected"), [
    ("CREATE TABLE `a``b` (id int)", ("table", "a`b")),
    ("/*!50001 CREATE TABLE `v` (`id` tinyint) ENGINE=MyISAM */", None),
    ("/*!50003 CREATE*/ /*!50017 DEFINER=`a b`@`%`*/ /*!50003 TRIGGER zorg.trg AFTER",
     ("trigger", "trg")),
    ("CREATE DEFINER=`root`@`localhost` AGGREGATE FUNCTION `agg`() RETURNS int",
     ("function", "agg")),
    ("/*!50001 CREATE VIEW `v` AS SELECT 1 AS `id` */", ("view", "v")),
    ("CREATE TEMPORARY TABLE tmpx (id int)", None),
    ("DROP TABLE IF EXISTS `x`", None),
])
def test_statement_object(statement: str, expected: tuple[str, str] | None) -> None:
    assert statement_object(statement) == expected


def inventory() -> Inventory:
    def table(name: str, kind: str = "BASE TABLE") -> TableInfo:
        return TableInfo("zorg", name, kind, "InnoDB", 0, 0, 0)
    return Inventory(
        "9.7.4", ["zorg"],
        [table("clients"), table("empty t"), table("audit_log"), table("v_open", "VIEW")],
        {"zorg": SchemaObjects(
            routines=["mk", "mk"], procedures=["mk"], functions=["mk"],
            triggers=["trg_clients", "trg_audit"], events=["ev_purge"],
            trigger_tables={"trg_clients": "clients", "trg_audit": "audit_log"})})


def test_the_sample_holds_exactly_the_plan() -> None:
    (plan,) = plan_database(inventory(), ["*.audit_*"])
    expected = expected_objects(plan, inventory())
    # The excluded table's trigger is not expected: the client leaves it out with it.
    assert expected["trigger"] == {"trg_clients"}
    assert differences(expected, scan(MYSQLDUMP)) == []


def test_missing_and_unplanned_objects_are_named() -> None:
    (plan,) = plan_database(inventory(), [])
    check = DumpCompleteness("zorg", expected_objects(plan, inventory()))
    check.write(MYSQLDUMP.replace(b"`empty t`", b"`late`"))
    with pytest.raises(DumpIncomplete) as refused:
        check.close()
    text = str(refused.value)
    assert ("missing from the dump: table `zorg`.`audit_log`, table `zorg`.`empty t`, "
            "trigger `zorg`.`trg_audit`") in text
    assert "in the dump but not in the inventory: table `zorg`.`late`" in text


def test_rows_of_a_complete_dump() -> None:
    mariadb = inventory()
    mariadb.tables.append(TableInfo("zorg", "s_invoice", "SEQUENCE", "InnoDB", 1, 0, 0))
    (plan,) = plan_database(mariadb, ["*.audit_*"])
    check = DumpCompleteness("zorg", expected_objects(plan, mariadb))
    for offset in range(0, len(MARIADB_DUMP), 100):
        check.write(MARIADB_DUMP[offset:offset + 100])
    check.close()
    assert (check.rows("clients"), check.rows("empty t")) == (4, 0)
