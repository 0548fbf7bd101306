"""`tenant-exit worker verify`: the verify Job reads a finished backup back.

Runs in the operator's namespace with the operator's image and no S3 keys: the
plan (api/verify_result.py, from a Secret) holds presigned GET links, read-only
by construction and valid until the Job's deadline. The manifest is read first
and must still have the digest the operator read; then every object it lists
is streamed (1 MiB at a time, never held whole) and its size and SHA-256
compared with the manifest — the same check as `tenant-exit verify`, with every
byte read back, so a one-byte change anywhere is found.

Exit status 0 with a result in the termination message whether or not the
objects match (a mismatch is a finding, not a failure to verify); 1 with
`{"code", "error"}` when the store could not be read (a pod killed mid-read or
a refused link: the Job's next pod starts again from the manifest).
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tenant_exit.api.verify_result import VerifyPlan, VerifyResult
from tenant_exit.api.worker_errors import WorkerErrorCode
from tenant_exit.storage.manifest import Manifest, StoredObject, check_object
from tenant_exit.worker.progress import ProgressLog
from tenant_exit.worker.summary import failure_json, write_termination_message

EXIT_FAILED = 1
_CHUNK = 1 << 20
_TIMEOUT = 60.0
"""Seconds a read may stall before the attempt fails (the Job retries)."""


class StoreUnreadable(Exception):
    """The store refused or failed a read: no finding about the backup."""


def _where(url: str) -> str:
    """The link without its query (the signature): safe to report."""
    return url.split("?", 1)[0]


def _chunks(url: str) -> Iterator[bytes] | None:
    """The object's bytes in chunks; None when the store says it does not exist."""
    try:
        response = urllib.request.urlopen(url, timeout=_TIMEOUT)  # noqa: S310 - presigned https/http link
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        body = error.read(2000).decode("utf-8", "replace")
        code = body.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in body else ""
        raise StoreUnreadable(f"reading {_where(url)} failed: HTTP {error.code}"
                              f"{' ' + code if code else ''}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise StoreUnreadable(f"reading {_where(url)} failed: {reason}") from None

    def read() -> Iterator[bytes]:
        with response:
            try:
                while chunk := response.read(_CHUNK):
                    yield chunk
            except OSError as error:
                raise StoreUnreadable(f"reading {_where(url)} failed mid-way: {error}") from None
    return read()


def _digest(chunks: Iterator[bytes]) -> tuple[int, str]:
    hasher = hashlib.sha256()
    size = 0
    for chunk in chunks:
        hasher.update(chunk)
        size += len(chunk)
    return size, hasher.hexdigest()


def verify_plan(plan: VerifyPlan, log: ProgressLog) -> VerifyResult:
    """Read the manifest and every object it lists; raises StoreUnreadable."""
    chunks = _chunks(plan.manifest_url)
    if chunks is None:
        raise StoreUnreadable(f"manifest {plan.manifest_key} does not exist")
    data = b"".join(chunks)  # the manifest is small: names and digests only
    digest = hashlib.sha256(data).hexdigest()
    if digest != plan.manifest_sha256:
        problem = (f"manifest {plan.manifest_key} has SHA-256 {digest} now, the operator "
                   f"read {plan.manifest_sha256}")
        return VerifyResult(plan.manifest_key, digest, 0, 0, (problem,), 1)
    manifest = Manifest.from_bytes(data)
    problems: list[str] = []
    total = 0
    for obj in manifest.objects:
        found, size = _check(obj, plan.object_urls.get(obj.key))
        total += size
        log.event("object", key=obj.key, bytes=size, ok=found is None)
        if found is not None:
            problems.append(found)
    return VerifyResult(plan.manifest_key, digest, len(manifest.objects), total,
                        tuple(problems), len(problems))


def _check(obj: StoredObject, url: str | None) -> tuple[str | None, int]:
    """(problem or None, bytes read) for one object."""
    if url is None:
        return f"{obj.key}: no link to read it in the verify plan", 0
    chunks = _chunks(url)
    size, sha = _digest(chunks) if chunks is not None else (None, None)
    check = check_object(obj, size, sha)
    return (None if check.ok else f"{obj.key}: {check.problem}"), size or 0


def run_verify_job() -> int:
    log = ProgressLog()
    termination = Path(os.environ.get("TENANT_EXIT_TERMINATION_LOG") or "/dev/termination-log")
    try:
        plan = VerifyPlan.from_json(os.environ["TENANT_EXIT_VERIFY_PLAN"])
    except (KeyError, ValueError, TypeError) as error:
        message = f"invalid verify plan in TENANT_EXIT_VERIFY_PLAN: {type(error).__name__}"
        log.event("failed", code=WorkerErrorCode.CONFIG_INVALID.value, error=message)
        write_termination_message(termination,
                                  failure_json(WorkerErrorCode.CONFIG_INVALID, message))
        return EXIT_FAILED
    try:
        result = verify_plan(plan, log)
    except StoreUnreadable as error:
        code = WorkerErrorCode.STORAGE_REQUEST_FAILED
        log.event("failed", code=code.value, error=str(error))
        write_termination_message(termination, failure_json(code, str(error)))
        return EXIT_FAILED
    log.event("done", objects=result.objects, bytes=result.bytes, problems=result.problem_count)
    write_termination_message(termination, result.to_json())
    return 0
