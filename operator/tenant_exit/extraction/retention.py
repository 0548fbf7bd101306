"""Which run folders to remove: pure, so the rule is tested without a bucket.

Rule: keep the newest `keep` *complete* runs (folder with a manifest). Remove
older complete runs, and incomplete folders older than the newest complete run
(a crashed or replaced run). Nothing is removed unless a complete run newer than
it exists, so a failing extraction never eats its last good output.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from tenant_exit.extraction.layout import MANIFEST, RUNS, is_stamp

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


def list_runs(client: S3Client, bucket: str, prefix: str) -> dict[str, list[str]]:
    """stamp -> keys under `<prefix>runs/<stamp>/`."""
    runs: dict[str, list[str]] = {}
    base = prefix + RUNS
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base):
        for item in page.get("Contents", []):
            stamp, _, _ = item["Key"][len(base):].partition("/")
            if is_stamp(stamp):
                runs.setdefault(stamp, []).append(item["Key"])
    return runs


def apply_retention(client: S3Client, bucket: str, prefix: str, keep: int) -> list[str]:
    """Remove what `folders_to_remove` says; returns the removed stamps."""
    runs = list_runs(client, bucket, prefix)
    complete = {s: any(k.endswith("/" + MANIFEST) for k in keys) for s, keys in runs.items()}
    removed = folders_to_remove(complete, keep)
    for stamp in removed:
        _delete(client, bucket, runs[stamp])
    return removed


def _delete(client: S3Client, bucket: str, keys: Iterable[str]) -> None:
    # The manifest first: a folder interrupted mid-removal then reads as incomplete.
    ordered = sorted(keys, key=lambda k: not k.endswith("/" + MANIFEST))
    for key in ordered:
        client.delete_object(Bucket=bucket, Key=key)
