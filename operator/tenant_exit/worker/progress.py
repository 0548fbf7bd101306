"""Progress and events as JSON lines on stderr (the Job's log).

One object per line, so `kubectl logs` stays readable and a log pipeline can
parse it. Callers pass only counts, names and messages they built themselves;
`redact()` is the last line of defence that masks any known secret value
(database password, S3 secret key) should one slip into a message.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

_SIGNED_QUERY = re.compile(r"\?[^\s\"']*X-Amz-(?:Signature|Credential)[^\s\"']*",
                           re.IGNORECASE)
"""The query of a presigned URL (uploadCredentials Presigned): a bearer credential."""


class Redactor:
    """Replaces every occurrence of the given secret values, and the query of any
    presigned URL, with `***`."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        # Very short values would mask ordinary words; real secrets are longer.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _SIGNED_QUERY.sub("?***", text)


def secrets_from_env(extra: Iterable[str | None] = ()) -> Redactor:
    return Redactor([os.environ.get("AWS_SECRET_ACCESS_KEY"),
                     os.environ.get("AWS_SESSION_TOKEN"),
                     os.environ.get("TENANT_EXIT_DB_PASSWORD"), *extra])


class ProgressLog:
    """Thread-safe JSON-lines writer with a rate limit for `progress` events."""

    def __init__(self, stream: TextIO | None = None, *, interval: float = 10.0,
                 redact: Redactor | None = None) -> None:
        self._stream = stream or sys.stderr
        self._interval = interval
        self._redact = redact or Redactor([])
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def event(self, event: str, **fields: Any) -> None:
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                  "event": event, **fields}
        line = self._redact(json.dumps(record, ensure_ascii=False, default=str))
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def progress(self, obj: str, *, force: bool = False, **fields: Any) -> None:
        """A `progress` line for `obj`, at most once per interval unless `force`."""
        now = time.monotonic()
        last = self._last.get(obj)
        if not force and last is not None and now - last < self._interval:
            return
        self._last[obj] = now
        self.event("progress", object=obj, **fields)
