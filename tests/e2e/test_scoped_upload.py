"""Scoped upload credentials, proven against a store that enforces them.

The backup Job in the tenant namespace never holds the platform's keys: the
operator asks the store's STS for a session whose inline policy allows only the
exit's folder, and writes only that session into the tenant namespace. The store
here is SeaweedFS (tests/localcluster/sts_store.py), which evaluates session
policies on every request; moto (the other tests' store) issues sessions but
does not, so only here does a refused request prove anything.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from kubernetes import client

from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.families import only_on
from tests.localcluster.sts_store import SessionPolicyStore
from tests.localcluster.volumes import LocalVolumes
from tests.support.full_tenant import FullTenant, provision_tenant
from tests.support.operator_process import (
    OPERATOR_NAMESPACE,
    OperatorProcess,
    delayed_single_attempt_env,
    running_operator,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

SESSION_SECONDS = 900
# The worker starts this long after its pod: time for a test to age the session
# and for the operator to renew it while the Job runs.
WORKER_DELAY = 20
UPLOAD_KEYS = {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionPolicyStore]:
    with SessionPolicyStore(Path(tmp_path_factory.mktemp("sts-store"))) as server:
        yield server


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane, kubelet: object,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    env = delayed_single_attempt_env(WORKER_DELAY) | {
        "TENANT_EXIT_UPLOAD_SESSION_SECONDS": str(SESSION_SECONDS)}
    with running_operator(control_plane, Path(tmp_path_factory.mktemp("operator")),
                          env) as process:
        yield process


@pytest.fixture
def tenant(operator: OperatorProcess, control_plane: ControlPlane, db_server: DatabaseServer,
           store: SessionPolicyStore, local_volumes: LocalVolumes) -> Iterator[FullTenant]:
    made = provision_tenant(control_plane, db_server, store, local_volumes, OPERATOR_NAMESPACE,
                            clients=10, files=5)
    yield made
    made.clean_up()


def body(tenant: FullTenant, role_arn: str) -> dict[str, Any]:
    spec = tenant.body(licence_seconds=2)
    spec["spec"]["destination"]["s3"]["sessionRoleArn"] = role_arn
    return spec


def upload_secret(tenant: FullTenant) -> dict[str, str] | None:
    try:
        secret = tenant.core.read_namespaced_secret(
            f"{tenant.exit_name}-destination-credentials", tenant.namespace)
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def session_client(store: SessionPolicyStore, keys: dict[str, str]) -> Any:
    return store.client(aws_access_key_id=keys["accessKeyId"],
                        aws_secret_access_key=keys["secretAccessKey"],
                        aws_session_token=keys["sessionToken"])


def refused(call: Any) -> str:
    with pytest.raises(ClientError) as error:
        call()
    return str(error.value.response["Error"]["Code"])


def test_the_job_gets_a_session_that_reaches_its_exit_folder_and_nothing_else(
        tenant: FullTenant, store: SessionPolicyStore) -> None:
    # Another exit's backup in the same bucket, written with the platform's keys.
    other = "exits/other-exit-0a1b2c3d/attempt-1/manifest.json"
    store.client().put_object(Bucket=tenant.bucket, Key=other, Body=b"{}")

    tenant.apply(body(tenant, store.role_arn))
    keys = wait_for("the upload Secret in the tenant namespace",
                    lambda: upload_secret(tenant), timeout=120)
    assert set(keys) == UPLOAD_KEYS
    assert keys["accessKeyId"] != store.access_key
    assert store.secret_key not in json.dumps(keys), "the platform's secret key was copied"
    ends = datetime.fromisoformat(keys["expiration"].replace("Z", "+00:00"))
    assert timedelta(0) < ends - datetime.now(UTC) <= timedelta(seconds=SESSION_SECONDS + 60)

    # The backup, written with nothing but the session, verifies.
    exit = tenant.wait_for_phase("AwaitingReceipt", 300)
    manifest = exit["status"]["backup"]["manifest"]
    folder = manifest.rsplit("/attempt-", 1)[0] + "/"
    assert folder.startswith(f"exits/{tenant.exit_name}-")

    s3 = session_client(store, keys)
    assert s3.get_object(Bucket=tenant.bucket, Key=manifest)["Body"].read()
    # Outside the folder the same session is refused: another exit's objects, the
    # bucket's listing, and deleting even its own objects.
    assert refused(lambda: s3.get_object(Bucket=tenant.bucket, Key=other)) == "AccessDenied"
    assert refused(lambda: s3.put_object(Bucket=tenant.bucket, Key=other,
                                         Body=b"overwritten")) == "AccessDenied"
    assert refused(lambda: s3.put_object(Bucket=tenant.bucket, Key="exits/planted.json",
                                         Body=b"x")) == "AccessDenied"
    assert refused(lambda: s3.list_objects_v2(Bucket=tenant.bucket,
                                              Prefix="exits/")) == "AccessDenied"
    assert refused(lambda: s3.delete_object(Bucket=tenant.bucket,
                                            Key=manifest)) == "AccessDenied"
    listed = s3.list_objects_v2(Bucket=tenant.bucket, Prefix=folder)
    assert manifest in [o["Key"] for o in listed.get("Contents", [])]
    assert store.client().get_object(Bucket=tenant.bucket, Key=other)["Body"].read() == b"{}"

    # The session never reaches status or Events.
    seen = json.dumps(tenant.get()) + json.dumps(tenant.events())
    for secret in (keys["secretAccessKey"], keys["sessionToken"], store.secret_key):
        assert secret not in seen


@only_on("mariadb", "the store's refusal happens before any dump; the family is irrelevant")
def test_a_store_that_refuses_the_session_stops_the_exit_before_any_job(
        tenant: FullTenant, store: SessionPolicyStore) -> None:
    tenant.apply(body(tenant, "arn:aws:iam::000000000000:role/not-trusted"))

    def stalled() -> dict[str, Any] | None:
        found = tenant.condition("Stalled")
        return found if found and found.get("status") == "True" else None

    condition = wait_for("the Stalled condition", stalled, timeout=120)
    assert condition["reason"] == "BackupStartFailed"
    message = condition["message"]
    # Refused for the role, with the platform's own keys: keys the store does not know
    # (InvalidClientTokenId) would give the same condition for the wrong reason.
    assert ("refused AssumeRole of arn:aws:iam::000000000000:role/not-trusted "
            "(HTTP 403, AccessDenied)") in message
    assert "uploadCredentials: PlatformKeys" in message
    assert store.secret_key not in message and store.access_key not in message
    assert tenant.jobs() == []
    assert upload_secret(tenant) is None, "no credentials of any kind in the tenant namespace"


@only_on("mariadb", "renewal is about the Secret and the Job, not the database")
def test_the_session_is_renewed_while_the_job_runs_and_reaches_its_pod(
        tenant: FullTenant, store: SessionPolicyStore) -> None:
    """The Job's pod is running (its worker waits WORKER_DELAY seconds) when the session
    is aged to a minute before its end, with keys no store knows: only a renewal that
    reaches the running pod's mounted Secret lets the backup succeed."""
    tenant.apply(body(tenant, store.role_arn))
    first = wait_for("the upload Secret", lambda: upload_secret(tenant), timeout=120)
    wait_for("the backup pod running", lambda: [
        p for p in tenant.core.list_namespaced_pod(tenant.namespace).items
        if p.metadata.name.startswith(f"{tenant.exit_name}-backup-1")
        and p.status.phase == "Running"], timeout=60)
    soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    tenant.core.replace_namespaced_secret(
        f"{tenant.exit_name}-destination-credentials", tenant.namespace, client.V1Secret(
            metadata=client.V1ObjectMeta(name=f"{tenant.exit_name}-destination-credentials"),
            string_data={"accessKeyId": "ASIAAGEDNOTASESSION0", "secretAccessKey": "aged",
                         "sessionToken": "aged", "expiration": soon}))

    def renewed() -> dict[str, str] | None:
        keys = upload_secret(tenant)
        return keys if keys and keys["accessKeyId"] not in (
            "ASIAAGEDNOTASESSION0", first["accessKeyId"]) else None

    fresh = wait_for("a renewed session in the Secret", renewed, timeout=WORKER_DELAY - 5)
    ends = datetime.fromisoformat(fresh["expiration"].replace("Z", "+00:00"))
    assert ends - datetime.now(UTC) > timedelta(seconds=SESSION_SECONDS * 2 / 3)
    exit = tenant.wait_for_phase("AwaitingReceipt", 300)
    assert exit["status"]["backup"]["attempts"] == 1
