"""The verdict on the archive re-read before Deleting (pure): intact, changed or
unreachable, from what the store answered; versioned buckets by version id."""

from __future__ import annotations

import pytest

from tenant_exit.phases.archive import ArchiveOutcome, describe, judge
from tenant_exit.storage.archive_check import ArchiveReading, ObjectReading

DIGEST = "9f2c" + "0" * 60
KEY = "exits/zorg-1a2b3c4d/attempt-1/manifest.json"
DUMP = "exits/zorg-1a2b3c4d/attempt-1/database-ons.sql.zst.age"


def reading(**fields: object) -> ArchiveReading:
    values: dict[str, object] = {"bucket": "tenant-exits", "manifest_key": KEY,
                                 "manifest_sha256": DIGEST,
                                 "objects": (ObjectReading(DUMP, 100, 100),)}
    values.update(fields)
    return ArchiveReading(**values)  # type: ignore[arg-type]


def test_the_receipted_manifest_with_every_object_present_is_intact() -> None:
    verdict = judge(reading(), DIGEST)
    assert verdict.outcome is ArchiveOutcome.INTACT and verdict.intact
    assert verdict.problems == ()


@pytest.mark.parametrize(("seen", "version", "expected"), [
    pytest.param(reading(manifest_sha256="ab" * 32), None,
                 [f"manifest s3://tenant-exits/{KEY} now has SHA-256 {'ab' * 32}, not {DIGEST}"],
                 id="manifest-bytes"),
    pytest.param(reading(manifest_sha256=None, objects=()), "v1",
                 [f"manifest s3://tenant-exits/{KEY} (version v1) is gone"],
                 id="manifest-version-gone"),
    pytest.param(reading(manifest_version="v1", manifest_current_version="v2"), "v1",
                 [f"manifest s3://tenant-exits/{KEY} was replaced after the backup: its "
                  "current version is version v2, not the recorded v1"],
                 id="manifest-overwritten-in-versioned-bucket"),
    pytest.param(reading(manifest_version="v1", manifest_current_version=None), "v1",
                 ["current version is a delete marker"], id="manifest-delete-marker"),
    pytest.param(reading(objects=(ObjectReading(DUMP, 100, None, "o1", None),)), None,
                 [f"object s3://tenant-exits/{DUMP} (version o1) is missing"],
                 id="object-version-gone"),
    pytest.param(reading(objects=(ObjectReading(DUMP, 100, 100, "o1", "o2"),)), None,
                 ["was replaced after the backup"], id="object-overwritten"),
    pytest.param(reading(objects=(ObjectReading(DUMP, 100, 99),)), None,
                 ["has 99 bytes, the manifest says 100"], id="object-size"),
])
def test_every_difference_is_a_change_named_by_its_object(
        seen: ArchiveReading, version: str | None, expected: list[str]) -> None:
    verdict = judge(seen, DIGEST, version)
    assert verdict.outcome is ArchiveOutcome.CHANGED
    assert len(verdict.problems) == len(expected)
    for problem, words in zip(verdict.problems, expected, strict=True):
        assert words in problem


def test_the_exact_recorded_versions_still_current_are_intact() -> None:
    seen = reading(manifest_version="v1", manifest_current_version="v1",
                   objects=(ObjectReading(DUMP, 100, 100, "o1", "o1"),))
    assert judge(seen, DIGEST, "v1").intact


def test_a_store_that_did_not_answer_gives_no_verdict_on_the_archive() -> None:
    verdict = judge(reading(manifest_sha256=None, objects=(),
                            unreachable=f"s3://tenant-exits/{KEY}: InternalError (HTTP 500)"),
                    DIGEST)
    assert verdict.outcome is ArchiveOutcome.UNREACHABLE
    assert "HTTP 500" in describe(verdict)


def test_a_long_list_of_problems_is_shortened_for_the_condition() -> None:
    objects = tuple(ObjectReading(f"k{i}", 1, None) for i in range(7))
    text = describe(judge(reading(objects=objects), DIGEST))
    assert "k0" in text and "k2" in text and "k3" not in text and "and 4 more" in text
