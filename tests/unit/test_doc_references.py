"""Every pointer to the architecture document names a section it has, and no file
in the repository cites a Markdown file the repository lacks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
POINTER = re.compile(r'architecture\.md,\s+"([^"]+)"')
# Documents of the project: `docs/<name>.md` or an upper-case `NAME.md` (objects of a
# backup, such as data-dictionary.md, are not files of the repository).
CITED_DOC = re.compile(r"(?<![\w/.-])(docs/[\w-]+\.md|[A-Z][A-Z_]+\.md)\b")


def _tracked() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "operator", "tests", "docs", "charts", "deploy",
                          "bench", "scripts", "examples", "README.md", "Makefile"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).is_file()]


def _sections() -> set[str]:
    return {line[3:].strip() for line in ARCHITECTURE.read_text().splitlines()
            if line.startswith("## ")}


def test_every_pointer_names_a_section_of_the_architecture_document() -> None:
    sections = _sections()
    pointers = [(path, name) for path in _tracked()
                for name in POINTER.findall(re.sub(r"\s+", " ", path.read_text(errors="ignore")))]
    assert pointers, "the code points at docs/architecture.md"
    missing = [(str(path.relative_to(ROOT)), name) for path, name in pointers
               if name not in sections]
    assert missing == []


def test_no_file_cites_a_project_document_that_is_not_there() -> None:
    cited = {(str(path.relative_to(ROOT)), name) for path in _tracked()
             if path != Path(__file__).resolve()  # its own pattern's example
             for name in CITED_DOC.findall(path.read_text(errors="ignore"))}
    assert cited, "the code cites docs/architecture.md"
    absent = {(where, name) for where, name in cited
              if not any((ROOT / base / name).is_file() for base in ("", "docs"))}
    assert absent == set()


def test_no_pointer_to_a_design_document_outside_the_repository() -> None:
    outside = [str(path.relative_to(ROOT)) for path in _tracked()
               if path != Path(__file__) and "ARCHITECTURE §" in path.read_text(errors="ignore")]
    assert outside == []
