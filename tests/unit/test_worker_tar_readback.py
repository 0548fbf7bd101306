"""The tar read back from its stream against the walk (pure: a pax tar made by
Python's tarfile, fed in chunks of every size)."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from tenant_exit.worker.tar_readback import (
    TarReader,
    WalkEntry,
    differences,
    member_list_sha256,
)

MTIME = 1_700_000_000


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
    reader = TarReader()
    for offset in range(0, len(data), size):
        reader.write(data[offset:offset + size])
    assert reader.ended
    regular = {m.path: m for m in reader.members if m.regular}
    assert {p: m.sha256 for p, m in regular.items()} == {
        p: hashlib.sha256(d).hexdigest() for p, d in FILES.items()}  # a long name via pax
    assert differences(WALK, reader.members) == []
    assert len(member_list_sha256(reader.members)) == 64


def test_a_file_changed_after_the_walk_is_a_difference() -> None:
    changed = dict(FILES, **{"scans/intake.pdf": b"%PDF" * 301})
    reader = TarReader()
    reader.write(pax_tar(changed))
    [(path, what)] = differences(WALK, reader.members)
    assert path == "scans/intake.pdf" and "size 1200 at the walk, 1204 archived" == what
