"""Schema drift: what changed in the source since the last complete run.

The fingerprint is every column (with its COLUMN_TYPE and nullability) of every
source table the model reads, taken inside the run's snapshot before anything is
written. Against the previous complete run's fingerprint (in its manifest):
- a referenced column gone, or changed so the contract no longer fits, fails the
  run before writing (found by the live validation, which names table and
  column); a referenced column whose type changed but still fits is reported;
- a new column in a source table is never extracted (it may hold personal
  data): it is listed in the drift report, for a person to decide on the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tenant_exit.extraction.validate import SourceSchema

Fingerprint = dict[str, str]
"""`table.column` -> `column_type NULL|NOT NULL`."""


def fingerprint(source: SourceSchema, referenced: Iterable[tuple[str, str]]) -> Fingerprint:
    tables = {table for table, _ in referenced}
    return {f"{t}.{c}": kind for t in sorted(tables) for c, kind in source.get(t, {}).items()}


@dataclass
class DriftReport:
    new_columns: list[str] = field(default_factory=list)
    """Columns of read source tables that the previous run did not see."""
    changed_columns: list[str] = field(default_factory=list)
    """Referenced columns whose type changed but still fits the contract."""
    gone_columns: list[str] = field(default_factory=list)
    """Columns the previous run saw that are gone (unreferenced ones only: a
    referenced one fails validation)."""

    def as_dict(self) -> dict[str, list[str]]:
        return {"newColumns": self.new_columns, "changedColumns": self.changed_columns,
                "goneColumns": self.gone_columns}


def compare(previous: Mapping[str, str] | None, current: Fingerprint,
            referenced: Iterable[tuple[str, str]]) -> DriftReport:
    report = DriftReport()
    if previous is None:
        return report
    used = {f"{t}.{c}" for t, c in referenced}
    tables_before = {key.split(".", 1)[0] for key in previous}
    for key, kind in current.items():
        if key not in previous:
            # A table read for the first time (the model changed) is not drift.
            if key.split(".", 1)[0] in tables_before:
                report.new_columns.append(key)
        elif previous[key] != kind and key in used:
            report.changed_columns.append(f"{key}: {previous[key]} -> {kind}")
    report.gone_columns = sorted(k for k in previous if k not in current)
    return report
