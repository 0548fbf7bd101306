"""Pure parts of the restore verification (issue 13): where a dump line belongs,
and the RestoreVerified condition the operator derives from the manifest."""

from __future__ import annotations

import pytest

from tenant_exit.api import conditions as c
from tenant_exit.api.status import ConditionStatus
from tenant_exit.phases.backup_outcome import restore_condition
from tenant_exit.phases.observed import BackupCheck
from tenant_exit.worker.restore.locator import DumpLocator

DUMP = (b"/*!40101 SET NAMES utf8mb4 */;\n--\n-- Table structure for table `clients`\n--\n"
        b"CREATE TABLE `clients` (id int);\n--\n-- Dumping data for table `clients`\n--\n"
        b"INSERT INTO `clients` VALUES (1),(2);\n--\n-- Final view structure for view `v`\n"
        b"--\nCREATE VIEW `v` AS SELECT 1;\n-- Dump completed on 2026-12-01\n")


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 64, 1 << 20])
def test_a_line_number_names_its_section_whatever_the_chunking(size: int) -> None:
    locator = DumpLocator()
    for offset in range(0, len(DUMP), size):
        locator.write(DUMP[offset:offset + size])
    assert locator.lines == DUMP.count(b"\n")
    assert locator.where(1) == "the dump's header"
    assert locator.where(5) == "the definition of table `clients`"
    assert locator.where(9) == "the data (or triggers) of table `clients`"
    assert locator.where(13) == "the definition of view `v`"


def check(status: str, reason: str = "", message: str = "") -> BackupCheck:
    return BackupCheck("k", "a" * 64, "a" * 64, restore_status=status, restore_reason=reason,
                       restore_message=message)


def test_restore_verified_follows_the_manifest() -> None:
    verified = restore_condition(check("Verified", "RestoreMatches", "3 tables match"))
    assert (verified.type, verified.status, verified.reason) == (
        c.RESTORE_VERIFIED, ConditionStatus.TRUE, c.RESTORE_MATCHES)
    too_large = restore_condition(check("Unknown", "TooLarge", "too large"))
    assert (too_large.status, too_large.reason) == (ConditionStatus.UNKNOWN, "TooLarge")
    older = restore_condition(check(""))
    assert (older.status, older.reason) == (ConditionStatus.UNKNOWN, c.RESTORE_OFF)
