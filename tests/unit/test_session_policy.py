"""The upload session's inline policy: exactly the worker's calls, on its exit's folder."""

from __future__ import annotations

import json

import pytest

from tenant_exit.api import names
from tenant_exit.storage.session_policy import (
    MAX_POLICY_CHARS,
    PolicyTooLong,
    policy_json,
    upload_session_policy,
)

FOLDER = names.exit_folder("exits/", "zorggroep-noord", "0f3c9a1e-5b2d-4c1a-9e8f-123456789abc")


def test_objects_and_listing_are_limited_to_the_exit_folder() -> None:
    policy = upload_session_policy("backups", FOLDER)
    objects, listing = policy["Statement"]
    assert FOLDER == "exits/zorggroep-noord-0f3c9a1e/"
    assert objects == {
        "Sid": "ExitFolderObjects", "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload",
                   "s3:ListMultipartUploadParts", "s3:PutObjectRetention"],
        "Resource": ["arn:aws:s3:::backups/exits/zorggroep-noord-0f3c9a1e/*"]}
    assert listing == {
        "Sid": "ExitFolderListing", "Effect": "Allow",
        "Action": ["s3:ListBucket", "s3:ListBucketMultipartUploads"],
        "Resource": ["arn:aws:s3:::backups"],
        "Condition": {"StringLike": {"s3:prefix": ["exits/zorggroep-noord-0f3c9a1e/*"]}}}


def test_nothing_is_allowed_that_deletes_or_reaches_the_whole_bucket() -> None:
    policy = upload_session_policy("backups", FOLDER)
    actions = [action for st in policy["Statement"] for action in st["Action"]]
    assert not [a for a in actions if "Delete" in a or a.endswith("*")]
    assert all(st["Effect"] == "Allow" for st in policy["Statement"])
    resources = [r for st in policy["Statement"] for r in st["Resource"]]
    assert "arn:aws:s3:::backups/*" not in resources


def test_the_folder_keeps_its_slash_so_a_longer_exit_name_is_not_matched() -> None:
    """`exit-a/` must not reach `exit-ab/`: a folder without its slash is refused."""
    with pytest.raises(ValueError, match="must end with /"):
        upload_session_policy("backups", "exits/zorggroep-noord-0f3c9a1e")
    with pytest.raises(ValueError, match="must end with /"):
        upload_session_policy("backups", "/exits/a/")


def test_a_wildcard_in_the_prefix_is_refused_rather_than_widening_the_grant() -> None:
    with pytest.raises(ValueError, match="IAM wildcard"):
        upload_session_policy("backups", "exits/*/a-0f3c9a1e/")


def test_policy_json_is_compact_and_round_trips() -> None:
    policy = upload_session_policy("backups", FOLDER)
    text = policy_json(policy)
    assert " " not in text and json.loads(text) == policy
    assert len(text) < MAX_POLICY_CHARS


def test_a_policy_over_the_sts_limit_is_refused_with_what_to_shorten() -> None:
    long_prefix = "p" * 900 + "/"
    with pytest.raises(PolicyTooLong, match=r"shorten spec\.destination\.s3\.prefix"):
        policy_json(upload_session_policy("backups", names.exit_folder(
            long_prefix, "zorggroep-noord", "0f3c9a1e-5b2d")))
