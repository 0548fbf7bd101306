"""The verify Job's contract with the operator: what it is given, what it reports.

The operator never reads a backup's objects itself (a 500 GB tenant would be
500 GB through the operator pod): a verify Job in the operator's namespace reads
every object back through presigned GET links and digests it. The operator
reads only the manifest (to know what to link) and this result.

The plan is JSON in a Secret (the links grant read access until they expire);
the result is the Job's termination message: on success `{"manifestKey",
"manifestSha256", "objects", "bytes", "problems"}` — `problems` empty when every
object exists with the manifest's size and SHA-256 — and on failure to read at
all `{"code": "<WorkerErrorCode>", "error": "<sentence>"}` (api/worker_errors.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PLAN_KEY = "plan.json"
"""The Secret key holding the plan."""
MAX_PROBLEMS = 10
"""Problems listed in a result (Kubernetes keeps 4096 bytes of a termination
message); `problemCount` says how many there were."""


@dataclass(frozen=True)
class VerifyPlan:
    manifest_key: str
    manifest_sha256: str
    """The digest the operator read; a manifest that changed since is a problem."""
    manifest_url: str
    object_urls: dict[str, str]
    """A presigned GET link per object key of the manifest."""

    def to_json(self) -> str:
        return json.dumps({"manifestKey": self.manifest_key,
                           "manifestSha256": self.manifest_sha256,
                           "manifestUrl": self.manifest_url,
                           "objectUrls": self.object_urls}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> VerifyPlan:
        data = json.loads(text)
        return cls(manifest_key=str(data["manifestKey"]),
                   manifest_sha256=str(data["manifestSha256"]),
                   manifest_url=str(data["manifestUrl"]),
                   object_urls={str(k): str(v) for k, v in dict(data["objectUrls"]).items()})


@dataclass(frozen=True)
class VerifyResult:
    manifest_key: str
    manifest_sha256: str
    """SHA-256 of the manifest bytes the Job read."""
    objects: int
    """Objects read back."""
    bytes: int
    """Bytes read back and digested."""
    problems: tuple[str, ...] = ()
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and self.problem_count == 0

    def to_json(self) -> str:
        return json.dumps({"manifestKey": self.manifest_key,
                           "manifestSha256": self.manifest_sha256,
                           "objects": self.objects, "bytes": self.bytes,
                           "problems": list(self.problems[:MAX_PROBLEMS]),
                           "problemCount": max(self.problem_count, len(self.problems))},
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def parse(cls, message: str) -> VerifyResult | None:
        """The result in a termination message; None when it is not one (a failure's
        `{"code", "error"}`, or nothing)."""
        try:
            data: Any = json.loads(message or "")
            problems = tuple(str(p) for p in data.get("problems", []))
            return cls(manifest_key=str(data["manifestKey"]),
                       manifest_sha256=str(data["manifestSha256"]),
                       objects=int(data["objects"]), bytes=int(data["bytes"]),
                       problems=problems,
                       problem_count=int(data.get("problemCount", len(problems))))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
