"""Part sizing and error descriptions of the streaming multipart upload."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from tenant_exit.storage.multipart import (
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    describe_error,
    part_size_for,
)

MIB = 1024 * 1024


def test_part_size_doubles_every_thousand_parts() -> None:
    assert part_size_for(1, 16 * MIB) == 16 * MIB
    assert part_size_for(1000, 16 * MIB) == 16 * MIB
    assert part_size_for(1001, 16 * MIB) == 32 * MIB
    assert part_size_for(2001, 16 * MIB) == 64 * MIB


def test_part_size_respects_s3_limits() -> None:
    assert part_size_for(1, 1) == MIN_PART_SIZE
    assert part_size_for(MAX_PARTS, 64 * MIB) == MAX_PART_SIZE
    with pytest.raises(ValueError):
        part_size_for(MAX_PARTS + 1, 16 * MIB)


def test_largest_object_with_default_parts_is_terabytes() -> None:
    total = sum(part_size_for(n, 16 * MIB) for n in range(1, MAX_PARTS + 1))
    assert total > 5 * 1024**4


def test_describe_error_drops_query_strings() -> None:
    err = EndpointConnectionError(
        endpoint_url="http://s3.local/b/k?uploadId=abc&X-Amz-Signature=deadbeef")
    text = describe_error(err)
    assert "http://s3.local/b/k" in text
    assert "uploadId" not in text and "deadbeef" not in text


def test_describe_client_error() -> None:
    err = ClientError({"Error": {"Code": "NoSuchBucket", "Message": "gone"},
                       "ResponseMetadata": {"HTTPStatusCode": 404}}, "UploadPart")
    assert describe_error(err) == "NoSuchBucket (HTTP 404): gone"
