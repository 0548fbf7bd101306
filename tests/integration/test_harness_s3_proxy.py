"""The S3 fault proxy of the fault suite against the real S3 server: requests pass
through unchanged, and the injected faults are exactly the ones asked for."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.localcluster.s3server import S3Server, client_config
from tests.support.s3_proxy import S3FaultProxy, s3_operation
from tests.support.waiting import wait_for

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PART = 5 << 20


@pytest.fixture
def proxy(s3_server: S3Server) -> Iterator[S3FaultProxy]:
    with S3FaultProxy(s3_server.endpoint_url) as proxy:
        yield proxy


def _client(s3: S3Server, proxy: S3FaultProxy, attempts: int = 3) -> S3Client:
    return boto3.client("s3", endpoint_url=proxy.endpoint_url, region_name=s3.region,
                        aws_access_key_id=s3.access_key, aws_secret_access_key=s3.secret_key,
                        config=client_config(retries={"max_attempts": attempts,
                                                      "mode": "standard"}))


def _upload(client: S3Client, bucket: str, key: str, parts: int) -> None:
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = [{"PartNumber": n, "ETag": client.upload_part(
        Bucket=bucket, Key=key, UploadId=upload, PartNumber=n, Body=bytes([n]) * PART)["ETag"]}
        for n in range(1, parts + 1)]
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                     MultipartUpload={"Parts": done})


def test_operations_are_named_from_the_request() -> None:
    assert s3_operation("PUT", "/b/k", "partNumber=2&uploadId=x") == "UploadPart"
    assert s3_operation("POST", "/b/k", "uploads") == "CreateMultipartUpload"
    assert s3_operation("POST", "/b/k", "uploadId=x") == "CompleteMultipartUpload"
    assert s3_operation("GET", "/b", "uploads") == "ListMultipartUploads"
    assert s3_operation("PUT", "/b/k", "") == "PutObject"
    assert s3_operation("PUT", "/b", "") == "CreateBucket"


def test_a_failed_part_is_stored_and_retried_by_the_client(
        s3_server: S3Server, proxy: S3FaultProxy, fresh_bucket: str) -> None:
    rule = proxy.fail("UploadPart", nth=2)
    _upload(_client(s3_server, proxy), fresh_bucket, "x/object", parts=3)
    statuses = [(s.operation, s.status) for s in proxy.requests("UploadPart")]
    assert statuses == [("UploadPart", 200), ("UploadPart", 500), ("UploadPart", 200),
                        ("UploadPart", 200)]
    assert rule.fired == 1
    body = s3_server.client().get_object(Bucket=fresh_bucket, Key="x/object")["Body"].read()
    assert body == b"\x01" * PART + b"\x02" * PART + b"\x03" * PART


def test_failures_beyond_the_clients_attempts_reach_it(
        s3_server: S3Server, proxy: S3FaultProxy, fresh_bucket: str) -> None:
    proxy.fail("UploadPart", count=10)  # more than the retries (botocore: 2 + the first)
    with pytest.raises(ClientError, match="InternalError"):
        _upload(_client(s3_server, proxy, attempts=2), fresh_bucket, "x/object", parts=1)


def test_a_held_request_waits_for_its_release(
        s3_server: S3Server, proxy: S3FaultProxy, fresh_bucket: str) -> None:
    held = proxy.hold("PutObject", key_contains="slow/")
    client = _client(s3_server, proxy)
    writer = threading.Thread(target=client.put_object,
                              kwargs={"Bucket": fresh_bucket, "Key": "slow/a", "Body": b"a"})
    writer.start()
    held.wait_holding(timeout=30)
    time.sleep(0.3)
    assert writer.is_alive(), "the request waits at the proxy"
    assert "Contents" not in s3_server.client().list_objects_v2(Bucket=fresh_bucket)
    held.release()
    writer.join(30)
    assert s3_server.client().get_object(Bucket=fresh_bucket, Key="slow/a")["Body"].read() \
        == b"a"


def test_a_delay_slows_each_matching_request(
        s3_server: S3Server, proxy: S3FaultProxy, fresh_bucket: str) -> None:
    proxy.delay("PutObject", 0.5)
    client = _client(s3_server, proxy)
    started = time.monotonic()
    for n in range(2):
        client.put_object(Bucket=fresh_bucket, Key=f"k{n}", Body=b"x")
    assert time.monotonic() - started >= 1.0
    client.get_object(Bucket=fresh_bucket, Key="k0")  # not delayed, not failed


def test_a_held_request_of_a_client_that_died_is_dropped(
        s3_server: S3Server, proxy: S3FaultProxy, fresh_bucket: str) -> None:
    held = proxy.hold("PutObject")
    host, port = proxy.endpoint_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("PUT", f"/{fresh_bucket}/gone", body=b"never stored")
    held.wait_holding(timeout=30)
    connection.sock.shutdown(socket.SHUT_RDWR)  # the client dies
    connection.close()
    held.release()
    wait_for("the proxy to drop it",
             lambda: [s.injected for s in proxy.requests("PutObject")] == ["dropped"], 10)
    assert "Contents" not in s3_server.client().list_objects_v2(Bucket=fresh_bucket)
