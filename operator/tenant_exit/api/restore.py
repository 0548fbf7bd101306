"""Restore verification (issue 13): the modes, and the pure choices about the
scratch server that loads the dump beside the backup.

The archive is encrypted to the customer's keys and the operator holds no private
key, so the proof that the archive loads happens on the plaintext stream while it
is dumped: the worker tees each schema's SQL into a scratch server of the
source's family and version in the backup Job's pod, then compares every table
with the source. This proves the archive loads into a database server and holds
the source's rows; it does NOT make the backup a restore point: the application
still cannot be restored from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class RestoreMode(StrEnum):
    """How the backup proves that its archive loads and matches the source."""

    REQUIRED = "Required"
    """No AwaitingReceipt without a verified restore: a source too large for the
    scratch server, or one without a scratch image, stalls the exit."""
    BEST_EFFORT = "BestEffort"
    """Verify when possible; otherwise RestoreVerified=Unknown with the reason
    (TooLarge, NoScratchImage) and the backup goes on."""
    OFF = "Off"
    """No scratch server; needs spec.verification.offReason, which the manifest and
    the customer's README quote."""


SCRATCH_GROWTH: Final = 2
"""The scratch volume holds the loaded tables (about the source's data and index
bytes, more while indexes are rebuilt) plus the server's own files."""
SCRATCH_BASE_BYTES: Final = 1 << 30
"""Room for the scratch server's system tables, redo and undo logs, temp files."""


def scratch_volume_bytes(data_bytes: int, limit_bytes: int) -> int:
    """sizeLimit of the scratch server's emptyDir: twice the source's data and index
    bytes plus 1 GiB, never more than the limit plus that 1 GiB."""
    return min(data_bytes, limit_bytes) * SCRATCH_GROWTH + SCRATCH_BASE_BYTES


def image_key(family: str, version: str) -> tuple[str, str]:
    """(family-major.minor, family-major) keys of the chart's image map, for
    `@@version` like `8.0.36`, `10.11.19-MariaDB-0+deb12u1`."""
    found = re.match(r"\s*(\d+)\.(\d+)", version)
    if found is None:
        return (family, family)
    return (f"{family}-{found[1]}.{found[2]}", f"{family}-{found[1]}")


def choose_image(images: Mapping[str, str], family: str, version: str) -> str | None:
    """The scratch image for a source: by family and major.minor version (MySQL 8.0
    and 8.4 differ in what they load), else by family and major, else none."""
    exact, major = image_key(family, version)
    return images.get(exact) or images.get(major)


def same_release(source_version: str, scratch_version: str) -> bool:
    """The scratch server runs the source's major.minor release."""
    source = re.match(r"\s*(\d+)\.(\d+)", source_version)
    scratch = re.match(r"\s*(\d+)\.(\d+)", scratch_version)
    return (source is not None and scratch is not None
            and source.groups() == scratch.groups())


@dataclass(frozen=True)
class ScratchPlan:
    """What the operator decided about the scratch server of one backup Job."""

    mode: RestoreMode
    image: str | None = None
    """None: no scratch container (mode Off, or no image; see `skipped`)."""
    family: str = ""
    """mysql or mariadb: decides the server command of the container."""
    volume_bytes: int = 0
    limit_bytes: int = 0
    """The platform's limit on the source's data and index bytes."""
    skipped: str = ""
    """Why there is no scratch container although the mode asks for one: TooLarge
    (by the operator's look at information_schema) or NoScratchImage."""


SCRATCH_SOCKET_DIR: Final = "/run/scratch"
SCRATCH_SOCKET: Final = f"{SCRATCH_SOCKET_DIR}/mysqld.sock"
"""The scratch server listens on this unix socket only (--skip-networking): the
plaintext never leaves the pod."""
SCRATCH_DATADIR: Final = "/var/lib/mysql"


def plan_scratch(mode: RestoreMode, images: Mapping[str, str], *, family: str, version: str,
                 data_bytes: int, limit_bytes: int) -> ScratchPlan:
    """The scratch server of one backup Job, from what the source says of itself.

    Too large or without an image, the Job gets no scratch container; the worker then
    reports TooLarge/NoScratchImage (BestEffort) or fails so the exit stalls (Required).
    """
    if mode is RestoreMode.OFF:
        return ScratchPlan(mode)
    if data_bytes > limit_bytes:
        return ScratchPlan(mode, limit_bytes=limit_bytes, skipped=TOO_LARGE)
    image = choose_image(images, family, version)
    if image is None:
        return ScratchPlan(mode, limit_bytes=limit_bytes, skipped=NO_SCRATCH_IMAGE)
    return ScratchPlan(mode, image=image, family=family, limit_bytes=limit_bytes,
                       volume_bytes=scratch_volume_bytes(data_bytes, limit_bytes))


TOO_LARGE: Final = "TooLarge"
NO_SCRATCH_IMAGE: Final = "NoScratchImage"
