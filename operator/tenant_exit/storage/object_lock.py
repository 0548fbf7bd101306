"""S3 Object Lock for the backup: retention that covers the grace period.

Where the destination bucket has Object Lock enabled, every backup object is
written with a retention date, so not even a holder of the bucket's keys can
delete (COMPLIANCE) or, without the bypass permission, delete (GOVERNANCE) the
archive the customer confirmed before the deletion it justifies is over.

When the date is chosen (docs/security.md, "Object Lock"): the grace period
starts at the receipt, which comes after the upload, so no date known at upload
time can cover it for sure. Two steps therefore:

1. At upload the worker sets `retain_until = Job creation + download link
   lifetime + grace period + margin`: the receipt window the delivery expects.
2. When a receipt is accepted the operator extends every object's retention to
   `notBefore + margin` if that is later (PutObjectRetention; a retention can be
   lengthened in either mode, never shortened in COMPLIANCE). A receipt is only
   accepted once the extension is in place.

CreateMultipartUpload takes ObjectLockMode/ObjectLockRetainUntilDate, but not
every store applies them to the completed object (moto 5 does not), so after
each upload the retention is read back and set with PutObjectRetention when it
is missing or short: an object whose retention cannot be confirmed fails the
upload instead of being reported as protected.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from tenant_exit.storage.multipart import UploadError, describe_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class LockMode(StrEnum):
    COMPLIANCE = "COMPLIANCE"
    """Nobody, not even the account's root, can delete a version before the date."""
    GOVERNANCE = "GOVERNANCE"
    """Only an identity with s3:BypassGovernanceRetention can (and must say so)."""


def whole_second(when: datetime) -> datetime:
    """`when` rounded up to the second: stores keep retain-until dates to the second,
    and a date read back must not look shorter than the one asked for."""
    if when.microsecond == 0:
        return when
    return when.replace(microsecond=0) + timedelta(seconds=1)


@dataclass(frozen=True)
class Retention:
    mode: LockMode
    retain_until: datetime

    def headers(self) -> dict[str, Any]:
        """The PutObject / CreateMultipartUpload arguments that request it."""
        return {"ObjectLockMode": self.mode.value,
                "ObjectLockRetainUntilDate": self.retain_until}


@dataclass(frozen=True)
class BucketProtection:
    object_lock: bool
    """GetObjectLockConfiguration says Enabled (which implies versioning)."""
    versioned: bool
    """GetBucketVersioning says Enabled."""


_NO_LOCK = frozenset({"ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration"})


class LockStateUnknown(Exception):
    """The store would not say whether the bucket has Object Lock or versioning."""


_REFUSED = frozenset({"AccessDenied", "Forbidden", "403"})


def bucket_protection(client: S3Client, bucket: str) -> BucketProtection:
    """Whether the bucket has Object Lock and versioning (read with the operator's keys).

    A bucket that does not exist has neither: the Job then fails at the store like
    in any outage, and the operator's check of the finished backup refuses one
    written without retention into a bucket that has Object Lock by then. A refused
    or failed question raises LockStateUnknown, naming the permission when the
    store refused it; an unreachable store raises BotoCoreError (the caller retries)."""
    try:
        config = client.get_object_lock_configuration(Bucket=bucket)
        locked = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "NoSuchBucket":
            return BucketProtection(object_lock=False, versioned=False)
        if code not in _NO_LOCK:
            raise lock_state_unknown(bucket, "s3:GetBucketObjectLockConfiguration", error) from None
        locked = False
    try:
        versioned = client.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"
    except ClientError as error:
        raise lock_state_unknown(bucket, "s3:GetBucketVersioning", error) from None
    return BucketProtection(object_lock=locked, versioned=versioned or locked)


def lock_state_unknown(bucket: str, permission: str, error: ClientError) -> LockStateUnknown:
    code = str(error.response.get("Error", {}).get("Code", ""))
    needs = (f"; the operator's S3 identity needs {permission} on the bucket"
             if code in _REFUSED else "")
    return LockStateUnknown(f"cannot tell whether bucket {bucket} has Object Lock: "
                            f"{describe_error(error)}{needs}")


def put_small_object(client: S3Client, bucket: str, key: str, body: bytes, content_type: str,
                     retention: Retention | None) -> str | None:
    """PutObject of a small object (the manifest) with its retention; its version id.

    A PutObject with a retention needs a Content-MD5 (or an SDK checksum) header;
    the clients send checksums only where required, so the MD5 is given here."""
    extra: dict[str, Any] = {}
    if retention is not None:
        # Content-MD5 is an integrity header the API demands here, not a digest we rely on.
        md5 = hashlib.md5(body, usedforsecurity=False).digest()
        extra = {**retention.headers(), "ContentMD5": base64.b64encode(md5).decode()}
    response = client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type,
                                 **extra)
    version = response.get("VersionId")
    if retention is not None:
        ensure_retention(client, bucket, key, version, retention)
    return version if version and version != "null" else None


def ensure_retention(client: S3Client, bucket: str, key: str, version: str | None,
                     wanted: Retention) -> datetime:
    """The object version's retention lasts at least until `wanted.retain_until`:
    read back, set (or lengthened) if not, read back again. Returns the date in force.
    Raises UploadError when the store does not confirm it."""
    where = f"s3://{bucket}/{key}" + (f" (version {version})" if version else "")
    try:
        mode, current = _lock_state(client, bucket, key, version)
        if current is None or current < wanted.retain_until:
            # A retention already in force keeps its mode: COMPLIANCE cannot become
            # GOVERNANCE, and lengthening is what either mode allows.
            args: dict[str, Any] = {"Bucket": bucket, "Key": key, "Retention": {
                "Mode": mode or wanted.mode.value, "RetainUntilDate": wanted.retain_until}}
            if version:
                args["VersionId"] = version
            client.put_object_retention(**args)
            _, current = _lock_state(client, bucket, key, version)
    except (ClientError, BotoCoreError) as error:
        raise UploadError(f"cannot set the Object Lock retention of {where}: "
                          f"{describe_error(error)}") from error
    if current is None or current < wanted.retain_until:
        raise UploadError(f"the store did not apply Object Lock retention until "
                          f"{wanted.retain_until.isoformat()} to {where}")
    return current


def _lock_state(client: S3Client, bucket: str, key: str,
                version: str | None) -> tuple[str | None, datetime | None]:
    """The version's lock mode and retain-until date (None, None: no retention).
    HEAD rather than GetObjectRetention: the same answer on AWS, and moto 5 fails
    GetObjectRetention with a 500."""
    args: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version:
        args["VersionId"] = version
    head = client.head_object(**args)
    return head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate")
