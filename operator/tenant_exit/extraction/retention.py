"""Which run folders to remove (`folders_to_remove`, pure, so the rule is tested
without a bucket), and their removal, every version of every object.

Rule: keep the newest `keep` *complete* runs (folder with a manifest). Remove
older complete runs, and incomplete folders older than the newest complete run
(a crashed or replaced run). Nothing is removed unless a complete run newer than
it exists, so a failing extraction never eats its last good output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenant_exit.extraction.layout import LATEST, MANIFEST, RUNS, is_stamp

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def folders_to_remove(folders: dict[str, bool], keep: int) -> list[str]:
    """`folders`: stamp -> complete. Returns stamps to remove, oldest first."""
    complete = sorted((s for s, done in folders.items() if done), reverse=True)
    if not complete:
        return []
    kept = set(complete[:keep])
    newest_complete = complete[0]
    remove = [s for s in folders if s not in kept and s < newest_complete]
    return sorted(remove)


@dataclass(frozen=True)
class StoredVersion:
    """One version (or delete marker) of a key; `version_id` None where the bucket
    has never been versioned."""

    key: str
    version_id: str | None
    current: bool
    marker: bool


def list_versions(client: S3Client, bucket: str, prefix: str) -> list[StoredVersion]:
    """Every version and delete marker under `prefix`. An unversioned bucket lists
    each object once, with the version id "null"."""
    found: list[StoredVersion] = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket,
                                                                     Prefix=prefix):
        entries: list[tuple[Mapping[str, Any], bool]] = [
            *((item, False) for item in page.get("Versions", [])),
            *((item, True) for item in page.get("DeleteMarkers", []))]
        for item, marker in entries:
            version = item.get("VersionId")
            found.append(StoredVersion(
                key=item["Key"], version_id=None if version in (None, "null") else version,
                current=bool(item.get("IsLatest", True)), marker=marker))
    return found


def list_runs(client: S3Client, bucket: str, prefix: str) -> dict[str, list[StoredVersion]]:
    """stamp -> every version under `<prefix>runs/<stamp>/`.

    Versions, not keys: in a versioned bucket a DeleteObject without a version only
    hides the data behind a delete marker, and a retention that promises to remove
    old report data must remove it."""
    runs: dict[str, list[StoredVersion]] = {}
    base = prefix + RUNS
    for version in list_versions(client, bucket, base):
        stamp, _, _ = version.key[len(base):].partition("/")
        if is_stamp(stamp):
            runs.setdefault(stamp, []).append(version)
    return runs


def is_complete(versions: Iterable[StoredVersion]) -> bool:
    """A run is complete while its manifest's current version is not a delete marker."""
    return any(v.key.endswith("/" + MANIFEST) and v.current and not v.marker for v in versions)


def apply_retention(client: S3Client, bucket: str, prefix: str, keep: int) -> list[str]:
    """Remove what `folders_to_remove` says; returns the removed stamps."""
    runs = list_runs(client, bucket, prefix)
    removed = folders_to_remove({s: is_complete(v) for s, v in runs.items()}, keep)
    for stamp in removed:
        _delete(client, bucket, runs[stamp])
    # Each run overwrites latest/; in a versioned bucket the copies it replaced stay
    # as non-current versions. They are copies of runs/ folders: the kept ones are
    # still there, the removed ones must not survive here.
    superseded = [v for v in list_versions(client, bucket, prefix + LATEST) if not v.current]
    _delete(client, bucket, superseded)
    return removed


def _delete(client: S3Client, bucket: str, versions: Iterable[StoredVersion]) -> None:
    # The manifest first: a folder interrupted mid-removal then reads as incomplete.
    ordered = sorted(versions, key=lambda v: not v.key.endswith("/" + MANIFEST))
    for version in ordered:
        if version.version_id is None:
            client.delete_object(Bucket=bucket, Key=version.key)
        else:
            client.delete_object(Bucket=bucket, Key=version.key, VersionId=version.version_id)
