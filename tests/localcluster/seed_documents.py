"""The documents tree of the demo tenant: client folders with files of mixed
size and awkward names, plus the `import/`, `export/` and `tmp/` folders
backups exclude. Planned purely from a seed, then written."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.localcluster.seed_care import VISIT_NOTES, full_name, nfc

EXCLUDED_DIRS: tuple[str, ...] = ("import", "export", "tmp")
CLIENTS_DIR = "clients"


# --------------------------------------------------------------------------
# Documents tree: plan (pure), then write
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedFile:
    relative_path: str
    size: int
    client_id: int | None  # None for files outside client folders (excluded ones)
    title: str
    mime_type: str


_DOC_KINDS = (
    ("Verslag ÿ {year}.pdf", "application/pdf"),
    ("zorgplan {surname}.docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("Indicatiebesluit {year}-{n:02d}.pdf", "application/pdf"),
    ("Scan paspoort {first}.jpg", "image/jpeg"),
    ("Brief aan huisarts ({day}).pdf", "application/pdf"),
    ("Notities — {month} {year}.txt", "text/plain"),
    ("Évaluatie zorgdoelen {n}.odt", "application/vnd.oasis.opendocument.text"),
)
_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december")
_EXCLUDED_KINDS = {
    "import": ("{year}-{n:02d} cliënten ÿ.csv", "import van {n} ('t Hof).xml"),
    "export": ("facturen {year} Q{q}.xlsx", "declaratie {n} — zorgverzekeraar.edi"),
    "tmp": ("upload-{n:05d}.part", "~$conceptbrief {n}.docx"),
}


def _file_size(rng: random.Random, max_bytes: int) -> int:
    # Log-uniform from a few bytes to max_bytes: many small letters, some large scans.
    return int(math.exp(rng.uniform(math.log(4), math.log(max(max_bytes, 5)))))


def plan_documents(seed: int, files: int, names: Sequence[tuple[str, str, str]],
                   max_file_bytes: int = 1024 * 1024) -> tuple[list[PlannedFile],
                                                               list[PlannedFile]]:
    """(client documents, excluded files): paths, sizes and owners, no I/O."""
    rng = random.Random(f"{seed}:documents")
    kept: list[PlannedFile] = []
    used: set[str] = set()
    for n in range(files):
        client_id = 1 + (n % len(names)) if n < 2 * len(names) else rng.randint(1, len(names))
        first, prefix, last = names[client_id - 1]
        year = rng.randint(2019, 2025)
        # (n + 1): the first file is "zorgplan van 't Hof.docx" of the first fixed client.
        template, mime = _DOC_KINDS[(n + 1) % len(_DOC_KINDS)]
        file_name = template.format(
            year=year, n=n + 1, first=first, surname=full_name("", prefix, last),
            day=f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-{year}",
            month=_MONTHS[rng.randrange(12)],
        )
        folder = f"{CLIENTS_DIR}/{client_id:06d} {full_name(first, prefix, last)}/{year}"
        path = _unique(nfc(f"{folder}/{file_name}"), used)
        # One empty file: empty members are a classic archive edge case.
        size = 0 if n == 3 else _file_size(rng, max_file_bytes)
        kept.append(PlannedFile(path, size, client_id, file_name.rsplit(".", 1)[0], mime))
    excluded: list[PlannedFile] = []
    per_dir = max(2, files // 20)
    for folder, templates in _EXCLUDED_KINDS.items():
        for n in range(per_dir):
            name = templates[n % len(templates)].format(
                year=rng.randint(2019, 2025), n=n + 1, q=1 + n % 4
            )
            sub = f"{folder}/{2020 + n % 5}" if n % 3 == 2 else folder  # some nesting
            path = _unique(nfc(f"{sub}/{name}"), used)
            size = _file_size(rng, max(max_file_bytes // 4, 5))
            excluded.append(PlannedFile(path, size, None, name, "application/octet-stream"))
    return kept, excluded


def _unique(path: str, used: set[str]) -> str:
    candidate, n = path, 2
    while candidate in used:
        stem, dot, ext = path.rpartition(".")
        candidate = f"{stem} ({n}).{ext}" if dot else f"{path} ({n})"
        n += 1
    used.add(candidate)
    return candidate


_HEADERS = {
    "application/pdf": b"%PDF-1.4\n",
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "text/plain": b"",
}


def file_content(seed: int, planned: PlannedFile) -> bytes:
    """Deterministic content: text files compress, the others (like real scans) do not."""
    rng = random.Random(f"{seed}:file:{planned.relative_path}")
    if planned.mime_type == "text/plain":
        text = " ".join(rng.choice(VISIT_NOTES) for _ in range(planned.size // 40 + 1))
        return text.encode()[: planned.size]
    header = _HEADERS.get(planned.mime_type, b"PK\x03\x04")[: planned.size]
    return header + rng.randbytes(planned.size - len(header))


def write_documents(root: Path, seed: int, planned: Iterable[PlannedFile]) -> dict[str, str]:
    """Write the files; returns relative path -> SHA-256 hex."""
    digests: dict[str, str] = {}
    for item in planned:
        data = file_content(seed, item)
        target = root / item.relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        digests[item.relative_path] = hashlib.sha256(data).hexdigest()
    return digests
