"""The inline session policy of a backup Job's upload credentials (pure).

STS evaluates an AssumeRole session against the role's own policies AND this
document, so the session can do at most what both allow: whatever the platform's
role may do, the Job in the tenant namespace reaches only its exit's folder
(`<prefix><exit>-<uid8>/`, every attempt). The worker needs exactly:

- PutObject (single and multipart uploads: CreateMultipartUpload, UploadPart and
  CompleteMultipartUpload are authorised as s3:PutObject);
- GetObject, to read an earlier attempt's manifest and check its objects;
- AbortMultipartUpload and ListMultipartUploadParts, for its own and an earlier,
  killed attempt's unfinished uploads;
- PutObjectRetention, to set Object Lock retention on its own objects where the
  store ignored the upload's lock headers (storage/object_lock.py); it cannot
  shorten a COMPLIANCE retention, nor a GOVERNANCE one without
  s3:BypassGovernanceRetention, which is not granted;
- ListBucket and ListBucketMultipartUploads on the bucket, only with an
  `s3:prefix` inside the folder (the worker lists nothing else).

No DeleteObject: an attempt never deletes, a retry writes beside it.
"""

from __future__ import annotations

import json
from typing import Any

MAX_POLICY_CHARS = 2048
"""AWS's limit for an inline session policy (packed, before compression), and
SeaweedFS's; a longer one is refused, so we refuse it first with a clearer message."""

OBJECT_ACTIONS = ("s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload",
                  "s3:ListMultipartUploadParts", "s3:PutObjectRetention")
BUCKET_ACTIONS = ("s3:ListBucket", "s3:ListBucketMultipartUploads")


class PolicyTooLong(ValueError):
    """The bucket and folder make a policy the store would refuse."""


def _arn_part(text: str) -> str:
    # `*` and `?` are wildcards in IAM resource ARNs and StringLike: a folder name
    # containing one would widen the grant. Names here are DNS labels and a prefix
    # the platform chose, so refuse rather than escape (IAM has no escape).
    if "*" in text or "?" in text:
        raise ValueError(f"{text!r} contains an IAM wildcard (* or ?); not scoping to it")
    return text


def upload_session_policy(bucket: str, folder: str) -> dict[str, Any]:
    """The session policy allowing the worker's calls on `folder` of `bucket` only.

    `folder` is the exit's folder with its trailing slash, so `exit-a/` never
    matches `exit-ab/`."""
    if not folder.endswith("/") or folder.startswith("/"):
        raise ValueError(f"folder {folder!r} must end with / and not start with one")
    bucket, folder = _arn_part(bucket), _arn_part(folder)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ExitFolderObjects", "Effect": "Allow", "Action": list(OBJECT_ACTIONS),
             "Resource": [f"arn:aws:s3:::{bucket}/{folder}*"]},
            {"Sid": "ExitFolderListing", "Effect": "Allow", "Action": list(BUCKET_ACTIONS),
             "Resource": [f"arn:aws:s3:::{bucket}"],
             "Condition": {"StringLike": {"s3:prefix": [f"{folder}*"]}}},
        ],
    }


def policy_json(policy: dict[str, Any]) -> str:
    """Compact JSON as sent to STS; PolicyTooLong when over MAX_POLICY_CHARS."""
    text = json.dumps(policy, separators=(",", ":"))
    if len(text) > MAX_POLICY_CHARS:
        raise PolicyTooLong(
            f"the upload session policy is {len(text)} characters, over STS's "
            f"{MAX_POLICY_CHARS}: shorten spec.destination.s3.prefix or the bucket name")
    return text
