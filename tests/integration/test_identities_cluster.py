"""Issue 10, scenario 4: identities, not names, on the real control plane.

The operator's passes run in-process (observe -> decide -> execute -> publish, the
same code the operator process runs) under the operator's ServiceAccount, against
a real kube-apiserver, kube-controller-manager (namespace and PV controllers) and
the harness's PV deleter, which destroys a Released volume whose policy is Delete.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit
from tenant_exit.kube import destruction
from tenant_exit.reconcile import backup_store
from tenant_exit.reconcile.context import Context
from tenant_exit.reconcile.failures import ExitError
from tenant_exit.reconcile.passes import DeletionHeld, cancel, reconcile
from tenant_exit.settings import OperatorSettings
from tenant_exit.storage.manifest import (
    Encryption,
    Manifest,
    ObjectKind,
    RetentionRecord,
    StoredObject,
    Totals,
)
from tenant_exit.storage.object_lock import LockMode, Retention, put_small_object, whole_second
from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.s3server import S3Server
from tests.localcluster.volumes import LocalVolume, LocalVolumes
from tests.support.exits import AGE_RECIPIENT, DIGEST, example_spec
from tests.support.operator_process import OPERATOR_NAMESPACE, install_crds, operator_kubeconfig
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def ctx(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Context:
    install_crds(control_plane)
    path = operator_kubeconfig(control_plane, Path(tmp_path_factory.mktemp("ids")) / "kc")
    api = config.new_client_from_config(config_file=str(path))
    return Context(core=client.CoreV1Api(api), batch=client.BatchV1Api(api),
                   custom=client.CustomObjectsApi(api),
                   settings=OperatorSettings(operator_namespace=OPERATOR_NAMESPACE))


def _gone(read: Any) -> bool:
    try:
        read()
    except ApiException as error:
        if error.status == 404:
            return True
        raise
    return False


class Tenant:
    def __init__(self, plane: ControlPlane, volumes: LocalVolumes, s3: S3Server) -> None:
        self.plane, self.volumes, self.s3 = plane, volumes, s3
        self.core = client.CoreV1Api(plane.api_client())
        suffix = uuid.uuid4().hex[:6]
        self.namespace, self.exit_name = f"tenant-{suffix}", f"exit-{suffix}"
        self.bucket = s3.create_bucket(f"ids-{suffix}")

    def create_namespace(self) -> str:
        ns = self.core.create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=self.namespace)))
        return str(ns.metadata.uid)

    def delete_namespace(self) -> None:
        self.core.delete_namespace(self.namespace)
        wait_for(f"namespace {self.namespace} gone",
                 lambda: _gone(lambda: self.core.read_namespace(self.namespace)), timeout=60)

    def volume(self, policy: str) -> LocalVolume:
        made = self.volumes.provision(self.namespace, "docs", "16Mi", policy)
        (made.path / "record.txt").write_text("client record")
        return made

    def pv(self, volume: LocalVolume) -> client.V1PersistentVolume:
        return self.core.read_persistent_volume(volume.pv_name)

    def put_s3_secret(self) -> None:
        self.core.create_namespaced_secret(OPERATOR_NAMESPACE, client.V1Secret(
            metadata=client.V1ObjectMeta(name=f"{self.exit_name}-s3"),
            string_data={"accessKeyId": self.s3.access_key,
                         "secretAccessKey": self.s3.secret_key}))

    def spec(self) -> dict[str, Any]:
        spec = example_spec(self.namespace)
        # These scenarios are about identities, not the write freeze: no database
        # server runs here, so the exit says so instead of freezing one.
        spec["readOnly"] = {"database": "None", "writesNotFrozenAcknowledgement": (
            "identity scenarios: no database server runs in this test")}
        spec["documents"] = [{"claimName": "docs"}]
        spec["destination"]["s3"].update(
            bucket=self.bucket, endpoint=self.s3.endpoint_url, region=self.s3.region,
            credentialsSecret={"namespace": OPERATOR_NAMESPACE, "name": f"{self.exit_name}-s3"})
        return spec

    def apply_exit(self, spec: dict[str, Any] | None = None) -> str:
        body = {"apiVersion": names.API_VERSION, "kind": names.KIND,
                "metadata": {"name": self.exit_name}, "spec": spec or self.spec()}
        self.plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(body))
        return str(self.read(ctx=None)["metadata"]["uid"])

    def read(self, ctx: Context | None) -> dict[str, Any]:
        custom = ctx.custom if ctx else client.CustomObjectsApi(self.plane.api_client())
        got: dict[str, Any] = custom.get_cluster_custom_object(
            names.GROUP, names.VERSION, names.PLURAL, self.exit_name)
        return got

    def set_status(self, ctx: Context, status: dict[str, Any]) -> None:
        ctx.custom.patch_cluster_custom_object_status(
            names.GROUP, names.VERSION, names.PLURAL, self.exit_name, {"status": status})

    def put_backup(self, folder: str) -> tuple[str, bytes]:
        """A small real backup in the bucket (one object and its manifest), as the
        deletion re-reads it: the manifest's key and its bytes."""
        s3 = self.s3.client()
        dump = f"{folder}attempt-1/database-ons.sql.zst.age"
        body = b"age-encrypted dump bytes " * 40
        s3.put_object(Bucket=self.bucket, Key=dump, Body=body)
        now = datetime.now(UTC)
        manifest = Manifest(
            exit_name=self.exit_name, attempt=1, started_at=now, completed_at=now,
            encryption=Encryption(recipients=[AGE_RECIPIENT]),
            objects=[StoredObject(key=dump, kind=ObjectKind.DATABASE, name="ons",
                                  content="application/sql", size=len(body),
                                  sha256=hashlib.sha256(body).hexdigest(),
                                  plaintext_bytes=0, plaintext_sha256="0" * 64)],
            totals=Totals(tables=1, rows=3, database_bytes=0, files=0, document_bytes=0))
        key, data = f"{folder}attempt-1/manifest.json", manifest.to_bytes()
        s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        return key, data

    def one_pass(self, ctx: Context) -> dict[str, Any]:
        try:
            reconcile(TenantExit.from_body(self.read(ctx)), ctx)
        except ExitError:
            pass  # recorded in status; the next pass starts again
        return self.read(ctx)


@pytest.fixture
def tenant(control_plane: ControlPlane, local_volumes: LocalVolumes,
           s3_server: S3Server) -> Iterator[Tenant]:
    made = Tenant(control_plane, local_volumes, s3_server)
    yield made
    control_plane.kubectl("delete", "texit", made.exit_name, "--wait=false", check=False)
    control_plane.kubectl("delete", "namespace", made.namespace, "--wait=false", check=False)
    control_plane.kubectl("delete", "secret", f"{made.exit_name}-s3", "-n", OPERATOR_NAMESPACE,
                          check=False)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_recreated_namespace_and_an_earlier_namespaces_volume_are_never_touched(
        ctx: Context, tenant: Tenant) -> None:
    # An earlier namespace of the tenant's name left a Released, Retained volume.
    tenant.create_namespace()
    earlier = tenant.volume("Retain")
    tenant.delete_namespace()
    wait_for("the earlier volume Released", lambda: tenant.pv(earlier).status.phase == "Released")

    # The namespace the exit took, with its own claim (same claim name, another UID).
    ours_uid = tenant.create_namespace()
    ours = tenant.volume("Delete")
    claim_uid = tenant.core.read_namespaced_persistent_volume_claim(
        "docs", tenant.namespace).metadata.uid
    exit_uid = tenant.apply_exit()
    now = datetime.now(UTC)
    folder = names.exit_folder("zorggroep-noord/", tenant.exit_name, exit_uid)
    manifest, data = tenant.put_backup(folder)
    tenant.put_s3_secret()  # the archive is re-read before the first irreversible step
    # Where the exit stands once the receipt's grace period has passed (the S3 Secret
    # is removed after that step, so writing the certificate fails after the
    # namespace is gone).
    tenant.set_status(ctx, {
        "phase": "Deleting",
        "tenant": {"namespaceUid": ours_uid, "volumes": [
            {"persistentVolume": ours.pv_name, "claim": f"{tenant.namespace}/docs",
             "claimUid": claim_uid}]},
        "terms": {"exitUid": exit_uid, "host": "mysql.example", "port": 3306, "schemas": ["ons"],
                  "claims": ["docs"], "bucket": tenant.bucket, "exitFolder": folder},
        "backup": {"manifest": manifest, "manifestSha256": hashlib.sha256(data).hexdigest(),
                   "schemas": ["ons"]},
        "receipt": {"confirmedAt": _stamp(now - timedelta(hours=1)), "confirmedBy": "it@x.nl"},
        "deletion": {"notBefore": _stamp(now - timedelta(minutes=1))},
    })
    wait_for("the first irreversible step", lambda: tenant.one_pass(ctx)["status"][
        "deletion"].get("databasesDropped") is not None, timeout=30)
    tenant.core.delete_namespaced_secret(f"{tenant.exit_name}-s3", OPERATOR_NAMESPACE)

    def namespace_and_volume_gone() -> bool:
        tenant.one_pass(ctx)
        return _gone(lambda: tenant.core.read_namespace(tenant.namespace)) and _gone(
            lambda: tenant.pv(ours))

    wait_for("our namespace and volume destroyed", namespace_and_volume_gone, timeout=90)
    assert tenant.read(ctx)["status"]["phase"] == "Deleting", "no certificate without S3 keys"

    # GitOps self-heal re-creates the tenant's namespace before the certificate.
    recreated_uid = tenant.create_namespace()
    recreated = tenant.volume("Delete")
    tenant.put_s3_secret()
    finished = wait_for("the exit Deleted", lambda: (
        got := tenant.one_pass(ctx))["status"].get("phase") == "Deleted" and got, timeout=60)

    live = tenant.core.read_namespace(tenant.namespace)
    assert live.metadata.uid == recreated_uid and live.metadata.deletion_timestamp is None
    assert (live.metadata.labels or {}).get(names.LABEL_DELETION) is None
    pv = tenant.pv(recreated)
    assert (pv.status.phase, pv.spec.persistent_volume_reclaim_policy) == ("Bound", "Delete")
    assert (recreated.path / "record.txt").read_text() == "client record"
    kept = tenant.pv(earlier)
    assert kept.spec.persistent_volume_reclaim_policy == "Retain"
    assert (earlier.path / "record.txt").read_text() == "client record"

    status = finished["status"]
    assert recreated_uid in status["tenant"]["notOurs"]
    assert [v["persistentVolume"] for v in status["deletion"]["volumes"]] == [ours.pv_name]
    assert status["deletion"]["namespaceUid"] == ours_uid
    # The adapters' own guard against a race (a namespace re-created between our read
    # and our call): the API server refuses calls that carry the recorded UID.
    with pytest.raises(ApiException):
        destruction.allow_deletion(ctx.core, tenant.namespace, ours_uid)
    destruction.delete_namespace(ctx.core, tenant.namespace, ours_uid)  # 409: refused
    live = tenant.core.read_namespace(tenant.namespace)
    assert live.metadata.deletion_timestamp is None
    assert (live.metadata.labels or {}).get(names.LABEL_DELETION) is None

    keys = [o["Key"] for o in tenant.s3.client().list_objects_v2(
        Bucket=tenant.bucket).get("Contents", [])]
    assert f"{folder}attempt-1/deletion-certificate.json" in keys


def test_deleting_the_exit_during_deleting_completes_the_deletion_first(
        ctx: Context, tenant: Tenant) -> None:
    """Scenario 6: an Argo CD prune (or `kubectl delete texit`) while Deleting. The
    delete handler's pass (passes.cancel, as kopf calls it until it succeeds) drives
    the deletion on, writes the certificate, and only then lets the record go."""
    ours_uid = tenant.create_namespace()
    ours = tenant.volume("Delete")
    claim_uid = tenant.core.read_namespaced_persistent_volume_claim(
        "docs", tenant.namespace).metadata.uid
    tenant.put_s3_secret()
    exit_uid = tenant.apply_exit()
    tenant.plane.kubectl("patch", "texit", tenant.exit_name, "--type=merge", "-p",
                         json.dumps({"metadata": {"finalizers": [names.EXIT_FINALIZER]}}))
    now = datetime.now(UTC)
    folder = names.exit_folder("zorggroep-noord/", tenant.exit_name, exit_uid)
    manifest, data = tenant.put_backup(folder)
    tenant.set_status(ctx, {
        "phase": "Deleting",
        "tenant": {"namespaceUid": ours_uid, "volumes": [
            {"persistentVolume": ours.pv_name, "claim": f"{tenant.namespace}/docs",
             "claimUid": claim_uid}]},
        "terms": {"exitUid": exit_uid, "host": "mysql.example", "port": 3306, "schemas": ["ons"],
                  "claims": ["docs"], "bucket": tenant.bucket, "exitFolder": folder},
        "backup": {"manifest": manifest, "manifestSha256": hashlib.sha256(data).hexdigest(),
                   "schemas": ["ons"]},
        "receipt": {"confirmedAt": _stamp(now - timedelta(hours=1)), "confirmedBy": "it@x.nl"},
        "deletion": {"notBefore": _stamp(now - timedelta(minutes=1))},
    })
    tenant.plane.kubectl("delete", "texit", tenant.exit_name, "--wait=false")

    def delete_handler_done() -> bool:
        exit = TenantExit.from_body(tenant.read(ctx))
        assert exit.metadata.deletion_timestamp is not None
        try:
            cancel(exit, ctx)
        except (DeletionHeld, ExitError):
            return False
        return True

    wait_for("the delete handler to let the TenantExit go", delete_handler_done, timeout=120)
    status = tenant.read(ctx)["status"]
    assert status["phase"] == "Deleted"
    assert status["deletion"]["certificateObject"] == f"{folder}attempt-1/deletion-certificate.json"
    assert _gone(lambda: tenant.core.read_namespace(tenant.namespace))
    assert _gone(lambda: tenant.pv(ours)) and not ours.path.exists()


def test_a_manifest_overwritten_after_receipt_stops_the_deletion_with_nothing_deleted(
        ctx: Context, tenant: Tenant) -> None:
    """Issue 10, item 6: the receipt confirmed one manifest; someone with write access
    to the bucket replaces it before the grace period ends. Just before the first
    irreversible step the operator re-reads it, finds another digest, and stalls:
    namespace, volume and files untouched, a Warning Event naming the object. Once
    the receipted bytes are put back the same exit completes by itself."""
    ours_uid = tenant.create_namespace()
    ours = tenant.volume("Delete")
    claim_uid = tenant.core.read_namespaced_persistent_volume_claim(
        "docs", tenant.namespace).metadata.uid
    tenant.put_s3_secret()
    exit_uid = tenant.apply_exit()
    folder = names.exit_folder("zorggroep-noord/", tenant.exit_name, exit_uid)
    manifest, data = tenant.put_backup(folder)
    digest = hashlib.sha256(data).hexdigest()
    now = datetime.now(UTC)
    tenant.set_status(ctx, {
        "phase": "Deleting",
        "tenant": {"namespaceUid": ours_uid, "volumes": [
            {"persistentVolume": ours.pv_name, "claim": f"{tenant.namespace}/docs",
             "claimUid": claim_uid}]},
        "terms": {"exitUid": exit_uid, "host": "mysql.example", "port": 3306, "schemas": ["ons"],
                  "claims": ["docs"], "bucket": tenant.bucket, "exitFolder": folder},
        "backup": {"manifest": manifest, "manifestSha256": digest, "schemas": ["ons"]},
        "receipt": {"confirmedAt": _stamp(now - timedelta(hours=1)), "confirmedBy": "it@x.nl"},
        "deletion": {"notBefore": _stamp(now - timedelta(minutes=1))},
    })
    s3 = tenant.s3.client()
    forged = data.replace(b'"rows": 3', b'"rows": 2')
    assert forged != data
    s3.put_object(Bucket=tenant.bucket, Key=manifest, Body=forged)

    for _ in range(3):  # targets recorded, then the check, again and again
        status = tenant.one_pass(ctx)["status"]
    conditions = {c["type"]: c for c in status["conditions"]}
    stalled = conditions["Stalled"]
    assert (stalled["status"], stalled["reason"]) == ("True", "ArchiveChanged"), stalled
    assert f"s3://{tenant.bucket}/{manifest}" in stalled["message"]
    assert digest in stalled["message"] and "Nothing was deleted" in stalled["message"]
    assert "X-Amz-" not in stalled["message"] and tenant.s3.secret_key not in stalled["message"]
    assert status["deletion"].get("databasesDropped") is None
    assert status["deletion"].get("archiveVerifiedAt") is None
    live = tenant.core.read_namespace(tenant.namespace)
    assert live.metadata.uid == ours_uid and live.metadata.deletion_timestamp is None
    assert (live.metadata.labels or {}).get(names.LABEL_DELETION) != names.DELETION_ALLOWED
    assert tenant.pv(ours).status.phase == "Bound"
    assert (ours.path / "record.txt").read_text() == "client record"
    events = tenant.core.list_namespaced_event(ctx.settings.events_namespace).items
    warned = [e for e in events if e.reason == "ArchiveChanged"
              and e.involved_object.name == tenant.exit_name]
    assert warned and warned[0].type == "Warning" and manifest in warned[0].message

    s3.put_object(Bucket=tenant.bucket, Key=manifest, Body=data)  # the receipted bytes
    finished = wait_for("the exit Deleted once the archive matches again", lambda: (
        got := tenant.one_pass(ctx))["status"].get("phase") == "Deleted" and got, timeout=120)
    assert finished["status"]["deletion"]["archiveVerifiedAt"]
    assert _gone(lambda: tenant.core.read_namespace(tenant.namespace))


def test_with_object_lock_the_receipt_is_accepted_only_with_retention_over_the_grace(
        ctx: Context, tenant: Tenant) -> None:
    """Issue 10, item 6: a bucket with Object Lock. The operator sees it and picks the
    upload retention (Job deadline + link lifetime + grace + margin); when the receipt
    comes, it lengthens every object's retention, by recorded version, to the grace
    period's end plus the margin before it records the receipt."""
    ours_uid = tenant.create_namespace()
    s3 = tenant.s3.client()
    tenant.bucket = f"lock-{tenant.exit_name}"
    s3.create_bucket(Bucket=tenant.bucket, ObjectLockEnabledForBucket=True,
                     CreateBucketConfiguration={"LocationConstraint": tenant.s3.region})  # type: ignore[typeddict-item]
    tenant.put_s3_secret()
    spec = tenant.spec()
    spec["readOnly"] = {"database": "None", "writesNotFrozenAcknowledgement":
                        "test tenant without a database server, nothing to freeze"}
    spec["deletion"] = {"gracePeriod": "240h"}
    exit_uid = tenant.apply_exit(spec)
    exit = TenantExit.from_body(tenant.read(ctx))
    started = datetime.now(UTC)
    chosen = backup_store.upload_retention(exit, ctx, started)
    assert chosen is not None and chosen[0] == "COMPLIANCE"
    s = ctx.settings
    assert chosen[1] >= started + timedelta(seconds=s.job_deadline_seconds
                                            + s.download_link_seconds
                                            + s.object_lock_margin_seconds, hours=240)

    folder = names.exit_folder("zorggroep-noord/", tenant.exit_name, exit_uid)
    upload = Retention(LockMode.COMPLIANCE, whole_second(started + timedelta(days=2)))
    dump = f"{folder}attempt-1/database-ons.sql.zst.age"
    body = b"age-encrypted dump bytes " * 40
    dump_version = put_small_object(s3, tenant.bucket, dump, body, "application/octet-stream",
                                    upload)
    manifest = Manifest(
        exit_name=tenant.exit_name, exit_uid=exit_uid, attempt=1, started_at=started,
        completed_at=started, encryption=Encryption(recipients=[AGE_RECIPIENT]),
        objects=[StoredObject(key=dump, kind=ObjectKind.DATABASE, name="ons",
                              content="application/sql", size=len(body),
                              sha256=hashlib.sha256(body).hexdigest(), plaintext_bytes=0,
                              plaintext_sha256="0" * 64, version_id=dump_version)],
        totals=Totals(tables=1, rows=3, database_bytes=0, files=0, document_bytes=0),
        retention=RetentionRecord(mode="COMPLIANCE", retain_until=upload.retain_until))
    key, data = f"{folder}attempt-1/manifest.json", manifest.to_bytes()
    manifest_version = put_small_object(s3, tenant.bucket, key, data, "application/json",
                                        upload)
    digest = hashlib.sha256(data).hexdigest()
    tenant.set_status(ctx, {
        "phase": "AwaitingReceipt",
        "tenant": {"namespaceUid": ours_uid},
        "terms": {"exitUid": exit_uid, "host": "mysql.example", "port": 3306, "schemas": ["ons"],
                  "claims": ["docs"], "bucket": tenant.bucket, "exitFolder": folder},
        "backup": {"manifest": key, "manifestSha256": digest, "schemas": ["ons"],
                   "manifestVersionId": manifest_version,
                   "linksExpireAt": _stamp(started + timedelta(days=6)),
                   "downloadSecret": f"{OPERATOR_NAMESPACE}/{tenant.exit_name}-download",
                   "retention": {"mode": "COMPLIANCE",
                                 "retainUntil": _stamp(upload.retain_until)}},
    })
    tenant.plane.kubectl("patch", "texit", tenant.exit_name, "--type=merge", "-p", json.dumps(
        {"spec": {"receipt": {"confirmedBy": "it@x.nl", "manifestSha256": digest}}}))
    status = tenant.one_pass(ctx)["status"]
    assert status.get("receipt", {}).get("confirmedAt"), status["conditions"]
    not_before = datetime.fromisoformat(status["deletion"]["notBefore"])
    covered = not_before + timedelta(seconds=s.object_lock_margin_seconds)
    in_force = datetime.fromisoformat(status["backup"]["retention"]["retainUntil"])
    assert in_force >= covered
    for object_key, version in ((dump, dump_version), (key, manifest_version)):
        head = s3.head_object(Bucket=tenant.bucket, Key=object_key, VersionId=version)  # type: ignore[arg-type]
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] >= covered, object_key


def test_the_credential_allowlist_is_checked_on_every_read(ctx: Context, tenant: Tenant) -> None:
    """Scenario 10: attempt 1 passed the allowlist; then credentialsSecret is pointed at
    a namespace the operator may not read credentials from. The operator's next bucket
    read refuses it, and the Secret there is never used."""
    ours_uid = tenant.create_namespace()
    elsewhere = f"{tenant.namespace}-creds"
    tenant.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=elsewhere)))
    tenant.core.create_namespaced_secret(elsewhere, client.V1Secret(
        metadata=client.V1ObjectMeta(name="stolen"),
        string_data={"accessKeyId": tenant.s3.access_key,
                     "secretAccessKey": tenant.s3.secret_key}))
    try:
        exit_uid = tenant.apply_exit()
        folder = names.exit_folder("zorggroep-noord/", tenant.exit_name, exit_uid)
        tenant.set_status(ctx, {
            "phase": "AwaitingReceipt",
            "tenant": {"namespaceUid": ours_uid},
            "terms": {"exitUid": exit_uid, "host": "mysql.example", "port": 3306,
                      "schemas": ["ons"], "claims": ["docs"], "bucket": tenant.bucket,
                      "exitFolder": folder},
            "backup": {"manifest": f"{folder}attempt-1/manifest.json",
                       "manifestSha256": DIGEST, "schemas": ["ons"]},
        })
        tenant.plane.kubectl("patch", "texit", tenant.exit_name, "--type=merge", "-p", json.dumps(
            {"spec": {"destination": {"s3": {"credentialsSecret": {
                "namespace": elsewhere, "name": "stolen"}}}}}))
        ready = next(c for c in tenant.one_pass(ctx)["status"]["conditions"]
                     if c["type"] == "Ready")
        assert ready["status"] == "False"
        assert f"in namespace {elsewhere}; the operator reads credentials only from: " \
               f"{OPERATOR_NAMESPACE}" in ready["message"], ready
    finally:
        tenant.core.delete_namespace(elsewhere)
