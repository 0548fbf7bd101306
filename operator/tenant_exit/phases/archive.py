"""Is the archive in the bucket still the one the customer confirmed? (pure)

Asked once more just before the first irreversible step of Deleting (and again
after a crash if that step had not been recorded as done). Three answers:

- Intact: the manifest's bytes hash to the receipted digest (its recorded
  version, and that version is still the current one), and every object it lists
  is there with its recorded size (and version).
- Changed: anything else the store answered. Nothing is deleted and the exit
  stalls for a person: the customer's copy may no longer match what the bucket
  holds, so destroying the source now could destroy the only good copy.
- Unreachable: the store did not answer. Nothing is deleted; the next pass asks
  again (a store outage heals by itself).

A HEAD proves presence and size, not content: in a bucket without versioning an
overwrite of an object with the same size is not seen here (the verify Job, and
versioning or Object Lock, are what catch that; see docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tenant_exit.storage.archive_check import ArchiveReading, ObjectReading


class ArchiveOutcome(StrEnum):
    INTACT = "Intact"
    CHANGED = "Changed"
    UNREACHABLE = "Unreachable"


@dataclass(frozen=True)
class ArchiveVerdict:
    outcome: ArchiveOutcome
    problems: tuple[str, ...] = ()
    """What differs, one sentence each, naming the object (never a link or a key)."""

    @property
    def intact(self) -> bool:
        return self.outcome is ArchiveOutcome.INTACT


def judge(reading: ArchiveReading, receipted_sha256: str,
          manifest_version: str | None = None) -> ArchiveVerdict:
    """The verdict on `reading` for the manifest the receipt quoted."""
    if reading.unreachable is not None:
        return ArchiveVerdict(ArchiveOutcome.UNREACHABLE, (reading.unreachable,))
    where = f"s3://{reading.bucket}/{reading.manifest_key}"
    problems: list[str] = []
    if reading.manifest_sha256 is None:
        gone = f" (version {manifest_version})" if manifest_version else ""
        problems.append(f"manifest {where}{gone} is gone")
    elif reading.manifest_sha256 != receipted_sha256:
        problems.append(f"manifest {where} now has SHA-256 {reading.manifest_sha256}, not "
                        f"{receipted_sha256} that the receipt confirmed")
    if (manifest_version is not None and reading.manifest_sha256 is not None
            and reading.manifest_current_version != manifest_version):
        problems.append(_overwritten(f"manifest {where}", manifest_version,
                                     reading.manifest_current_version))
    for obj in reading.objects:
        problems += _object_problems(reading.bucket, obj)
    if problems:
        return ArchiveVerdict(ArchiveOutcome.CHANGED, tuple(problems))
    return ArchiveVerdict(ArchiveOutcome.INTACT)


def _object_problems(bucket: str, obj: ObjectReading) -> list[str]:
    where = f"object s3://{bucket}/{obj.key}"
    if obj.size is None:
        version = f" (version {obj.expected_version})" if obj.expected_version else ""
        return [f"{where}{version} is missing"]
    problems = []
    if obj.size != obj.expected_size:
        problems.append(f"{where} has {obj.size} bytes, the manifest says {obj.expected_size}")
    if obj.expected_version is not None and obj.current_version != obj.expected_version:
        problems.append(_overwritten(where, obj.expected_version, obj.current_version))
    return problems


def _overwritten(what: str, recorded: str, current: str | None) -> str:
    now = f"version {current}" if current else "a delete marker"
    return (f"{what} was replaced after the backup: its current version is {now}, not the "
            f"recorded {recorded}")


def describe(verdict: ArchiveVerdict, limit: int = 3) -> str:
    """The problems for a condition message: the first few and how many more."""
    shown = "; ".join(verdict.problems[:limit])
    more = len(verdict.problems) - limit
    return shown + (f"; and {more} more" if more > 0 else "")
