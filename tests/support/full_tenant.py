"""A complete demo tenant for end-to-end runs (and `make demo`): namespace with
document and database volumes, a seeded schema outside the namespace (so the
exit drops it), dump credentials, the app-flag ConfigMap, S3 credentials in the
operator's namespace, and the customer's age identity. What a user would check
is the shared `ExitView`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pyrage
import yaml
from kubernetes import client

from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.s3server import S3Server
from tests.localcluster.seed import EXCLUDED_DIRS, seed_tenant
from tests.localcluster.sts_store import SessionPolicyStore
from tests.localcluster.volumes import LocalVolume, LocalVolumes
from tests.support.backups import file_digests, table_fingerprints
from tests.support.exit_view import ExitView

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tenantexit.yaml"
S3_SECRET = "exit-s3"
S3Store = S3Server | SessionPolicyStore
"""moto, or the store that enforces session policies (tests/e2e/test_scoped_upload.py)."""


@dataclass
class FullTenant(ExitView):
    s3: S3Store
    operator_namespace: str
    bucket: str
    documents: LocalVolume
    database_volume: LocalVolume
    identity: pyrage.x25519.Identity = field(repr=False)

    PHASE_TIMEOUT: ClassVar[float] = 180

    def body(self, *, licence_seconds: float | None = 5, grace: str = "2s",
             drop_databases: bool = True) -> dict[str, Any]:
        """examples/tenantexit.yaml, pointed at the local servers."""
        body: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
        body["metadata"]["name"] = self.exit_name
        spec = body["spec"]
        spec["tenantNamespace"] = self.namespace
        if licence_seconds is None:
            del spec["readOnly"]
        else:
            until = datetime.now(UTC) + timedelta(seconds=licence_seconds)
            spec["readOnly"]["until"] = until.strftime("%Y-%m-%dT%H:%M:%SZ")
        spec["database"].update(host=self.db.host, port=self.db.port, databases=[self.schema])
        spec["destination"]["s3"].update(
            bucket=self.bucket, prefix="exits/", endpoint=self.s3.endpoint_url,
            region=self.s3.region,
            credentialsSecret={"namespace": self.operator_namespace, "name": S3_SECRET})
        spec["destination"]["encryption"]["ageRecipients"] = [str(self.identity.to_public())]
        spec["deletion"] = {"gracePeriod": grace, "dropDatabases": drop_databases}
        return body

    def kept_fingerprints(self) -> dict[str, tuple[int, str]]:
        """(rows, ordered digest) of the source tables the backup must hold."""
        return {t: v for t, v in table_fingerprints(self.db, self.schema).items()
                if t not in self.report.excluded_tables}

    def kept_documents(self) -> dict[str, str]:
        return {path: digest for path, digest in file_digests(self.documents.path).items()
                if path.split("/", 1)[0] not in EXCLUDED_DIRS}


def provision_tenant(plane: ControlPlane, db: DatabaseServer, s3: S3Store,
                     volumes: LocalVolumes, operator_namespace: str, *, clients: int = 30,
                     files: int = 40, create_bucket: bool = True,
                     exit_name: str | None = None, large_blob_bytes: int = 0) -> FullTenant:
    suffix = uuid.uuid4().hex[:6]
    exit_name = exit_name or f"e2e-{suffix}"
    namespace = f"tenant-{exit_name}"
    core = client.CoreV1Api(plane.api_client())
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    documents = volumes.provision(namespace, "client-documents", "64Mi", "Delete")
    database_volume = volumes.provision(namespace, "mysql-data", "64Mi", "Retain")
    report = seed_tenant(db, f"zorg_{suffix}", clients=clients,
                         documents_dir=documents.path, files=files, seed=11,
                         large_blob_bytes=large_blob_bytes)
    core.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="exit-dump-credentials"),
        string_data={"username": db.root_user, "password": db.root_password}))
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="app-settings"), data={"READ_ONLY": "false"}))
    put_store_keys(core, operator_namespace, s3)
    bucket = f"exits-{suffix}"
    if create_bucket:
        s3.create_bucket(bucket)
    return FullTenant(plane, db, exit_name, namespace, report, s3, operator_namespace, bucket,
                      documents, database_volume, pyrage.x25519.Identity.generate())


def put_store_keys(core: client.CoreV1Api, operator_namespace: str, s3: S3Store) -> None:
    """Secret S3_SECRET with exactly `s3`'s keys. Its name is shared by every tenant
    on the worker's control plane (which lives for the whole session) but the store
    is not: a module on moto leaves moto's keys in it, and a later module on another
    store (test_scoped_upload.py's SeaweedFS) must not inherit them, so an existing
    Secret is overwritten rather than kept."""
    secret = client.V1Secret(
        metadata=client.V1ObjectMeta(name=S3_SECRET),
        string_data={"accessKeyId": s3.access_key, "secretAccessKey": s3.secret_key})
    try:
        core.create_namespaced_secret(operator_namespace, secret)
    except client.ApiException as error:
        if error.status != 409:
            raise
        core.replace_namespaced_secret(S3_SECRET, operator_namespace, secret)
