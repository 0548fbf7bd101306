"""Presigned part uploads (uploadCredentials Presigned), proven against a store that
checks signatures: the tenant namespace gets no key, session or token, only URLs
the operator presigned, each good for one request on one object of the attempt.

SeaweedFS (tests/localcluster/sts_store.py) checks every presigned request's
signature, so a URL used for another key, another method or a listing is refused
here; the fixtures are test_scoped_upload's (the same store, operator and tenant).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import urllib3

from tenant_exit.storage.presigned_file import FILE_NAME, parse
from tests.e2e import test_scoped_upload as scoped
from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.families import only_on
from tests.localcluster.sts_store import SessionPolicyStore
from tests.support.full_tenant import FullTenant
from tests.support.operator_process import (
    OperatorProcess,
    delayed_single_attempt_env,
    running_operator,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

# test_scoped_upload's fixtures, reused (not copied): its SeaweedFS store and a
# provisioned tenant, served by this module's operator.
store = scoped.store
tenant = scoped.tenant
upload_secret = scoped.upload_secret
WINDOW = 4
PART_MIB = 5
WORKER_DELAY = 8


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane, kubelet: object,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    """One attempt, and a window of 4 parts of 5 MiB: an object over 20 MiB needs
    the operator's top-up while the Job runs. The worker starts WORKER_DELAY seconds
    after its pod, time for a test to act on the uploads first."""
    env = delayed_single_attempt_env(WORKER_DELAY) | {
        "TENANT_EXIT_PRESIGNED_PART_WINDOW": str(WINDOW),
        "TENANT_EXIT_PRESIGNED_PART_SIZE_MIB": str(PART_MIB),
        "TENANT_EXIT_UPLOAD_SESSION_SECONDS": "900",
    }
    with running_operator(control_plane, Path(tmp_path_factory.mktemp("operator")),
                          env) as process:
        yield process

KEY_NAMES = {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}


def presigned_body(tenant: FullTenant) -> dict[str, Any]:
    spec = tenant.body(licence_seconds=2)
    spec["spec"]["destination"]["s3"]["uploadCredentials"] = "Presigned"
    return spec


def elsewhere(url: str, path: str) -> str:
    """The same signed query on another path: another key, or the bucket itself."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def answer(method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
    response = urllib3.request(method, url, body=body, retries=False)
    return response.status, response.data


def test_the_job_gets_only_presigned_urls_and_the_backup_verifies(
        tenant: FullTenant, store: SessionPolicyStore,
        operator: OperatorProcess) -> None:
    # Another exit's backup in the same bucket, written with the platform's keys.
    other = "exits/other-exit-0a1b2c3d/attempt-1/manifest.json"
    platform = store.client()
    platform.put_object(Bucket=tenant.bucket, Key=other, Body=b"{}")

    tenant.apply(presigned_body(tenant))
    files = wait_for("the upload Secret in the tenant namespace",
                     lambda: upload_secret(tenant), timeout=120)
    # Nothing but the URL file: no key, no session, no token.
    assert set(files) == {FILE_NAME}, set(files)
    text = files[FILE_NAME]
    assert not KEY_NAMES & set(json.loads(text)), "a key field in the presigned file"
    assert store.secret_key not in text, "the platform's secret key reached the tenant"
    plan = parse(text)
    assert plan.bucket == tenant.bucket and plan.attempt == 1
    folder = f"exits/{tenant.exit_name}-"
    assert plan.uploads and all(k.startswith(folder) and "/attempt-1/" in k
                                for k in plan.uploads)
    assert {k.rsplit("/", 1)[1] for k in plan.uploads} >= {
        "manifest.json", f"database-{tenant.schema}.sql.zst.age",
        "data-dictionary.json.zst.age", "data-dictionary.md.zst.age"}

    # The backup, written with nothing but those URLs, verifies.
    exit = tenant.wait_for_phase("AwaitingReceipt", 300)
    backup = exit["status"]["backup"]
    assert backup["manifest"] in plan.uploads
    complete = tenant.condition("BackupComplete")
    assert complete is not None and complete["reason"] == "BackupVerified", complete
    # Nothing was left unfinished, and the URLs are gone from the tenant namespace.
    left = platform.list_multipart_uploads(Bucket=tenant.bucket, Prefix=folder)
    assert left.get("Uploads", []) == []
    assert upload_secret(tenant) is None

    # A URL does exactly one thing. The part URL of the manifest's upload (still
    # unexpired) used on another exit's manifest, as a read, as a delete and as a
    # listing of the bucket: each is refused for its signature.
    part = plan.uploads[backup["manifest"]].part_url(1)
    assert part is not None
    refusals = {
        "overwrite another key": answer("PUT", elsewhere(part, f"/{tenant.bucket}/{other}"),
                                        b"overwritten"),
        "read its own object": answer("GET", part),
        "delete its own object": answer("DELETE", part),
        "list the bucket": answer("GET", elsewhere(part, f"/{tenant.bucket}")),
    }
    for what, (status, data) in refusals.items():
        assert status == 403 and b"SignatureDoesNotMatch" in data, (what, status, data[:300])
    assert platform.get_object(Bucket=tenant.bucket, Key=other)["Body"].read() == b"{}"
    assert platform.head_object(Bucket=tenant.bucket, Key=backup["manifest"])

    # No URL (nor its signature) in status, Events or the operator's log.
    seen = json.dumps(tenant.get()) + json.dumps(tenant.events()) + operator.logs()
    for urls in plan.uploads.values():
        for url in (*urls.parts[:3], urls.complete, urls.abort):
            assert urlsplit(url).query not in seen
    assert "X-Amz-Signature" not in seen


@only_on("mariadb", "the top-up is about the Secret, the store and the Job, not the database")
def test_a_large_object_gets_its_window_topped_up_while_the_job_runs(
        tenant: FullTenant, store: SessionPolicyStore, operator: OperatorProcess) -> None:
    """A 26 MiB document (incompressible) is 6 parts of 5 MiB, but the first window
    has 4: only the operator's top-up, brought to the running pod's mounted file,
    lets the upload finish."""
    (Path(tenant.documents.path) / "scan-large.pdf").write_bytes(os.urandom(26 << 20))
    tenant.apply(presigned_body(tenant))
    first = parse(wait_for("the upload Secret", lambda: upload_secret(tenant),
                           timeout=120)[FILE_NAME])
    [documents] = [u for k, u in first.uploads.items() if "/documents-" in k]
    assert (documents.first_part, documents.last_part) == (1, WINDOW)

    tenant.wait_for_phase("AwaitingReceipt", 300)
    key = documents.key
    head = store.client().head_object(Bucket=tenant.bucket, Key=key)
    parts = int(head["ETag"].strip('"').rsplit("-", 1)[1])
    assert parts > WINDOW, f"{key} has {parts} parts: no top-up was needed"
    issued = [line for line in operator.logs().splitlines()
              if f"exit {tenant.exit_name}: presigned" in line]
    assert len(issued) >= 2, issued
    assert store.client().list_multipart_uploads(
        Bucket=tenant.bucket, Prefix=key).get("Uploads", []) == []


@only_on("mariadb", "the clean-up is about the store and the Job, not the database")
def test_a_failed_job_leaves_no_unfinished_upload_and_names_no_url(
        tenant: FullTenant, store: SessionPolicyStore, operator: OperatorProcess) -> None:
    """The database object's upload is gone before the worker starts (as if aborted
    by someone with the platform's keys): the worker fails on its first part with a
    message naming bucket, key and part, and the operator, which started them,
    aborts every other upload of the attempt the worker never reached."""
    tenant.apply(presigned_body(tenant))
    plan = parse(wait_for("the upload Secret", lambda: upload_secret(tenant),
                          timeout=120)[FILE_NAME])
    [database] = [u for k, u in plan.uploads.items() if "/database-" in k]
    platform = store.client()
    platform.abort_multipart_upload(Bucket=tenant.bucket, Key=database.key,
                                    UploadId=database.upload_id)

    def failed() -> dict[str, Any] | None:
        found = tenant.condition("BackupComplete")
        return found if found and found.get("reason") == "BackupJobFailed" else None

    condition = wait_for("the failed backup", failed, timeout=180)
    message = condition["message"]
    assert f"cannot upload part 1 of s3://{tenant.bucket}/{database.key}: " in message, message
    assert "X-Amz" not in message and database.upload_id not in message

    folder = database.key.rsplit("/", 1)[0] + "/"
    wait_for("no unfinished upload in the attempt's folder", lambda: not platform.
             list_multipart_uploads(Bucket=tenant.bucket, Prefix=folder).get("Uploads", []),
             timeout=60)
    # The four the worker never reached, aborted by the operator with its keys.
    assert f"exit {tenant.exit_name}: aborted 4 unfinished uploads of attempt 1" in \
        operator.logs()
