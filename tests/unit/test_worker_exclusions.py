"""What the backup leaves out: table globs and document path globs."""

from __future__ import annotations

import pytest

from tenant_exit.worker.exclusions import PathExcluder, excluding_pattern
from tenant_exit.worker.settings import DEFAULT_DOCUMENT_EXCLUDES, DEFAULT_EXCLUDE_TABLES


@pytest.mark.parametrize(("table", "pattern"), [
    ("audit_log", "*.audit_*"),
    ("audit_trail", "*.audit_*"),
    # Issue 10: clinical tables named like logs are data, kept by the defaults.
    ("medication_log", None),
    ("care_log", None),
    ("change_log", None),
    ("import_rows", "*.import_*"),
    ("export_jobs", "*.export_*"),
    ("clients", None),
    ("catalog", None),  # ends in "log" but not "_log"
    ("invoices_audit", None),
])
def test_default_table_exclusions(table: str, pattern: str | None) -> None:
    assert excluding_pattern("zorg", table, DEFAULT_EXCLUDE_TABLES) == pattern


def test_table_patterns_can_target_one_schema() -> None:
    assert excluding_pattern("zorg", "tmp_x", ["zorg.tmp_*"]) == "zorg.tmp_*"
    assert excluding_pattern("other", "tmp_x", ["zorg.tmp_*"]) is None


@pytest.mark.parametrize(("path", "is_dir", "excluded"), [
    ("import", True, True),  # pruned as a whole
    ("import/2024/a.csv", False, True),
    ("export/facturen.xlsx", False, True),
    ("tmp", True, True),
    ("clients/import", True, False),  # anchored at the volume root
    ("clients/Jan/tmp/x.pdf", False, False),
    ("importer/x.csv", False, False),
    ("clients/Zoë van 't Hof/intake.pdf", False, False),
])
def test_default_document_exclusions(path: str, is_dir: bool, excluded: bool) -> None:
    assert PathExcluder(DEFAULT_DOCUMENT_EXCLUDES).excludes(path, is_dir=is_dir) is excluded


def test_pattern_without_slash_matches_a_name_at_any_depth() -> None:
    excluder = PathExcluder(["*.part", "Thumbs.db"])
    assert excluder.excludes("a/b/upload.part")
    assert excluder.excludes("Thumbs.db")
    assert excluder.excludes("clients/x/Thumbs.db")
    assert not excluder.excludes("clients/x/upload.partial")


def test_double_star_spans_segments_and_prunes_directories() -> None:
    excluder = PathExcluder(["**/cache/**", "clients/*/concept-*.docx"])
    assert excluder.excludes("cache", is_dir=True)
    assert excluder.excludes("a/b/cache", is_dir=True)
    assert excluder.excludes("a/cache/x/y")
    assert not excluder.excludes("a/cached/x")
    assert excluder.excludes("clients/Jan/concept-1.docx")
    assert not excluder.excludes("clients/Jan/2024/concept-1.docx")  # * stays in a segment


def test_pattern_for_names_the_matching_pattern() -> None:
    excluder = PathExcluder(["tmp/**", "import/**"])
    assert excluder.pattern_for("import/a", is_dir=False) == "import/**"
    assert excluder.pattern_for("clients", is_dir=True) is None
