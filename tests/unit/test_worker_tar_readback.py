"""The tar read back from its stream against the walk (pure: a pax tar made by
Python's tarfile, fed in chunks of every size)."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from tenant_exit.worker.tar_readback import (
    Member,
    TarReader,
    WalkComparison,
    WalkEntry,
)

MTIME = 1_700_000_000


def differences(walked: list[WalkEntry], members: list[Member]) -> list[tuple[str, str]]:
    """(path, what differs) between a whole walk and a whole archive."""
    found: list[tuple[str, str]] = []
    comparison = WalkComparison(lambda path, what: found.append((path, what)))
    for entry in walked:
        comparison.walked(entry)
    for member in members:
        comparison.archived(member)
    comparison.finish()
    return found


def pax_tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        folder = tarfile.TarInfo("scans")
        folder.type, folder.mtime = tarfile.DIRTYPE, MTIME
        tar.addfile(folder)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), MTIME
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


FILES = {"scans/intake.pdf": b"%PDF" * 300, "scans/" + "lange-naam-" * 12 + ".txt": b"x" * 513,
         "scans/leeg.txt": b""}
WALK = [WalkEntry("scans", False, 0, MTIME * 10**9)] + [
    WalkEntry(name, True, len(data), MTIME * 10**9) for name, data in FILES.items()]


@pytest.mark.parametrize("size", [1, 7, 511, 512, 513, 4096, 1 << 20])
def test_members_and_digests_are_read_back_whatever_the_chunking(size: int) -> None:
    data = pax_tar(FILES)
    members: list[Member] = []
    reader = TarReader(members.append)
    for offset in range(0, len(data), size):
        reader.write(data[offset:offset + size])
    assert reader.ended
    regular = {m.path: m for m in members if m.regular}
    assert {p: m.sha256 for p, m in regular.items()} == {
        p: hashlib.sha256(d).hexdigest() for p, d in FILES.items()}  # a long name via pax
    assert differences(WALK, members) == []


def test_a_file_changed_after_the_walk_is_a_difference() -> None:
    changed = dict(FILES, **{"scans/intake.pdf": b"%PDF" * 301})
    members: list[Member] = []
    TarReader(members.append).write(pax_tar(changed))
    [(path, what)] = differences(WALK, members)
    assert path == "scans/intake.pdf" and "size 1200 at the walk, 1204 archived" == what


def member(path: str, size: int = 3, mtime_ns: int = MTIME * 10**9,
           sha256: str = "a" * 64) -> Member:
    return Member(path, True, size, mtime_ns, sha256)


def test_missing_extra_and_retyped_members_are_differences() -> None:
    walk = [WalkEntry("a.txt", True, 3, MTIME * 10**9), WalkEntry("b", False, 0, 0),
            WalkEntry("c.txt", True, 3, MTIME * 10**9)]
    archive = [member("a.txt", mtime_ns=MTIME * 10**9 + 1), member("b"), member("d.txt")]
    assert differences(walk, archive) == [
        ("a.txt", "modified between the walk and the archive"),
        ("b", "another kind of file in the archive"),
        ("d.txt", "in the archive, not listed by the walk"),
        ("c.txt", "listed by the walk, missing from the archive")]


def test_the_comparison_holds_only_the_walks_lead_and_folds_in_archive_order() -> None:
    """Entries met in the archive are let go as the archive goes, so memory is the
    walk's lead, not the volume; the fold is SHA-256 of "<sha> <size> <path>\\n"."""
    found: list[tuple[str, str]] = []
    comparison = WalkComparison(lambda path, what: found.append((path, what)))
    expected = hashlib.sha256()
    lead = 3
    for i in range(10_000):
        comparison.walked(WalkEntry(f"f{i}", True, 3, MTIME * 10**9))
        if i >= lead:
            comparison.archived(member(f"f{i - lead}", sha256=f"{i - lead:064x}"))
            expected.update(f"{i - lead:064x} 3 f{i - lead}\n".encode())
        assert comparison.held() <= lead + 1
    for i in range(10_000 - lead, 10_000):
        comparison.archived(member(f"f{i}", sha256=f"{i:064x}"))
        expected.update(f"{i:064x} 3 f{i}\n".encode())
    comparison.finish()
    assert found == [] and comparison.differences == 0
    assert comparison.member_list_sha256() == expected.hexdigest()
