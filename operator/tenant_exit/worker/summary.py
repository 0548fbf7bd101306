"""The one-line JSON the worker leaves in the container's termination message.

The operator reads it from the Job's pod status. It carries the manifest's key
and SHA-256 and totals only — camelCase, no secrets, no file names. On failure
it is `{"code": "<WorkerErrorCode>", "error": "<sentence>"}`: the operator
decides on the code and puts the sentence in a condition, so nobody needs the logs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tenant_exit.api.worker_errors import WorkerErrorCode
from tenant_exit.storage.manifest import Manifest

# Kubernetes keeps at most 4096 bytes of a termination message.
MAX_MESSAGE_BYTES = 4096


@dataclass(frozen=True)
class Summary:
    manifest_key: str
    manifest_sha256: str
    tables: int
    rows: int
    database_bytes: int
    """Plaintext bytes of the SQL dumps."""
    files: int
    document_bytes: int
    """Sum of the archived documents' sizes."""

    @classmethod
    def of(cls, manifest: Manifest, key: str, sha256: str) -> Summary:
        t = manifest.totals
        return cls(manifest_key=key, manifest_sha256=sha256, tables=t.tables, rows=t.rows,
                   database_bytes=t.database_bytes, files=t.files,
                   document_bytes=t.document_bytes)

    def to_json(self) -> str:
        return json.dumps({
            "manifestKey": self.manifest_key,
            "manifestSha256": self.manifest_sha256,
            "tables": self.tables,
            "rows": self.rows,
            "databaseBytes": self.database_bytes,
            "files": self.files,
            "documentBytes": self.document_bytes,
        }, separators=(",", ":"))


def failure_json(code: WorkerErrorCode, message: str) -> str:
    text = json.dumps({"code": code.value, "error": message}, ensure_ascii=False,
                      separators=(",", ":"))
    if len(text.encode()) <= MAX_MESSAGE_BYTES:
        return text
    return json.dumps({"code": code.value, "error": message[:1000] + "..."},
                      ensure_ascii=False, separators=(",", ":"))


def write_termination_message(path: Path, line: str) -> bool:
    """Best effort: a missing terminationMessagePath must not fail a good backup."""
    try:
        path.write_text(line + "\n", encoding="utf-8")
    except OSError:
        return False
    return True
