"""The presigned-upload file (uploadCredentials Presigned): what the operator writes
into the tenant namespace's upload Secret instead of keys, and the worker reads.

One JSON document, `presigned.json`:

    {"version": 1, "bucket": ..., "attempt": n, "issuedAt": ..., "expiresAt": ...,
     "partSizeMiB": 32, "retention": {"mode", "retainUntil"} | null,
     "uploads": {"<key>": {"uploadId": ..., "contentType": ..., "firstPart": 1,
                           "parts": ["<URL of part firstPart>", ...],
                           "complete": "<URL>", "abort": "<URL>"}}}

Every URL is a bearer credential for one request on one object: it never goes
into a repr, a log line, an exception or status. The upload ids are not secret
(they are useless without a signature) and name the uploads the operator started.
Parsing and rendering are pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from tenant_exit.storage.manifest import RetentionRecord

FILE_NAME = "presigned.json"
"""The Secret's key, and so the file's name in the mounted volume."""
VERSION = 1


class PresignedFileInvalid(ValueError):
    """The file is missing, not JSON or lacks a field; the message names the field,
    never a value (a value may be a URL)."""


@dataclass(frozen=True)
class ObjectUrls:
    """The presigned requests of one object's multipart upload."""

    key: str
    upload_id: str
    content_type: str
    first_part: int
    """Part number of parts[0]: the window is first_part .. first_part+len(parts)-1."""
    parts: tuple[str, ...] = field(repr=False)
    complete: str = field(repr=False)
    abort: str = field(repr=False)

    @property
    def last_part(self) -> int:
        """The highest part number this window can upload (first_part - 1 when empty)."""
        return self.first_part + len(self.parts) - 1

    def part_url(self, number: int) -> str | None:
        index = number - self.first_part
        return self.parts[index] if 0 <= index < len(self.parts) else None


@dataclass(frozen=True)
class PresignedUploads:
    """Everything one backup attempt may write, as presigned requests."""

    bucket: str
    attempt: int
    issued_at: datetime
    expires_at: datetime
    part_size_mib: int
    retention: RetentionRecord | None
    uploads: dict[str, ObjectUrls] = field(repr=False)

    @property
    def window(self) -> int:
        """Parts per object per issue (the largest window written)."""
        return max((len(u.parts) for u in self.uploads.values()), default=0)


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def render(plan: PresignedUploads) -> str:
    """The file's text (pure)."""
    return json.dumps({
        "version": VERSION, "bucket": plan.bucket, "attempt": plan.attempt,
        "issuedAt": _time(plan.issued_at), "expiresAt": _time(plan.expires_at),
        "partSizeMiB": plan.part_size_mib,
        "retention": plan.retention.model_dump(mode="json", by_alias=True)
        if plan.retention else None,
        "uploads": {key: {"uploadId": u.upload_id, "contentType": u.content_type,
                          "firstPart": u.first_part, "parts": list(u.parts),
                          "complete": u.complete, "abort": u.abort}
                    for key, u in plan.uploads.items()},
    }, separators=(",", ":"))


def parse(text: str) -> PresignedUploads:
    """The file's content, or PresignedFileInvalid naming what is wrong (pure)."""
    try:
        raw = json.loads(text)
    except ValueError:
        raise PresignedFileInvalid(f"{FILE_NAME} is not JSON") from None
    if not isinstance(raw, dict) or raw.get("version") != VERSION:
        raise PresignedFileInvalid(f"{FILE_NAME} is not version {VERSION} of the format")
    try:
        uploads = {
            str(key): ObjectUrls(
                key=str(key), upload_id=str(u["uploadId"]),
                content_type=str(u["contentType"]), first_part=int(u["firstPart"]),
                parts=tuple(str(p) for p in u["parts"]), complete=str(u["complete"]),
                abort=str(u["abort"]))
            for key, u in dict(raw["uploads"]).items()}
        retention = raw.get("retention")
        return PresignedUploads(
            bucket=str(raw["bucket"]), attempt=int(raw["attempt"]),
            issued_at=datetime.fromisoformat(str(raw["issuedAt"]).replace("Z", "+00:00")),
            expires_at=datetime.fromisoformat(str(raw["expiresAt"]).replace("Z", "+00:00")),
            part_size_mib=int(raw["partSizeMiB"]),
            retention=RetentionRecord.model_validate(retention) if retention else None,
            uploads=uploads)
    except KeyError as missing:
        raise PresignedFileInvalid(f"{FILE_NAME} lacks {missing.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as error:
        # The pydantic/ValueError text may quote the input; name only the kind.
        raise PresignedFileInvalid(
            f"{FILE_NAME} has a field of the wrong type ({type(error).__name__})") from None
