"""A tenant prepared for an exit on the local stack: a namespace with the dump
credentials, an app-flag ConfigMap, bound volumes, a seeded schema with its
application account. What a user would check is the shared `ExitView`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes import client

from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.seed import drop_tenant, seed_tenant
from tests.support.exit_view import ExitView
from tests.support.exits import example_spec
from tests.support.operator_process import OPERATOR_NAMESPACE

S3_ACCESS_KEY = "AKIAEXITTESTKEY00001"
S3_SECRET_KEY = "s3-secret-never-in-status-9b1f"


@dataclass
class ExitTenant(ExitView):
    volumes: list[str] = field(default_factory=list)

    @property
    def secrets(self) -> list[str]:
        """Every credential of this tenant: none may appear in status, events, logs."""
        return [self.db.root_password, self.report.app_password, S3_SECRET_KEY]

    def spec(self, until: datetime | None, **read_only: Any) -> dict[str, Any]:
        spec = example_spec(self.namespace)
        spec["readOnly"] = {"database": "RevokeWrites", **read_only}
        spec["readOnly"]["appFlag"] = {"configMap": "app-settings", "key": "READ_ONLY"}
        if until is not None:
            spec["readOnly"]["until"] = until.strftime("%Y-%m-%dT%H:%M:%SZ")
        spec["database"].update(host=self.db.host, port=self.db.port, databases=[self.schema])
        spec["destination"]["s3"]["credentialsSecret"] = {
            "namespace": OPERATOR_NAMESPACE,
            "name": f"{self.exit_name}-s3",
        }
        # No store behind this destination (objects.example.net): nothing to ask for
        # a session, so the Job gets the keys as they are. Scoped sessions are tested
        # where a store exists (tests/e2e/test_scoped_upload.py, the full exit).
        spec["destination"]["s3"]["uploadCredentials"] = "PlatformKeys"
        return spec

    def apply_exit(self, spec: dict[str, Any], name: str | None = None) -> None:
        self.apply({
            "apiVersion": "tenantexit.io/v1alpha1",
            "kind": "TenantExit",
            "metadata": {"name": name or self.exit_name},
            "spec": spec,
        })

    def reclaim_policies(self) -> dict[str, str]:
        return {
            pv.metadata.name: pv.spec.persistent_volume_reclaim_policy
            for pv in self.core.list_persistent_volume().items
            if pv.metadata.name in self.volumes
        }


def in_seconds(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def prepare_tenant(
    plane: ControlPlane,
    db: DatabaseServer,
    provision: Callable[[str, str, str], str],
) -> ExitTenant:
    """Namespace, Secrets, ConfigMap, two bound volumes and a seeded schema.

    `provision(namespace, claim, reclaim_policy) -> pv_name` binds a volume."""
    suffix = uuid.uuid4().hex[:6]
    exit_name = f"exit-{suffix}"
    namespace = f"tenant-{suffix}"
    report = seed_tenant(db, f"t_{suffix}", clients=2, documents_dir=None, files=0)
    core = client.CoreV1Api(plane.api_client())
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="exit-dump-credentials"),
            string_data={"username": db.root_user, "password": db.root_password},
        ),
    )
    core.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="app-settings"),
            data={"READ_ONLY": "false", "THEME": "blue"},
        ),
    )
    core.create_namespaced_secret(
        OPERATOR_NAMESPACE,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name=f"{exit_name}-s3"),
            string_data={"accessKeyId": S3_ACCESS_KEY, "secretAccessKey": S3_SECRET_KEY},
        ),
    )
    volumes = [
        provision(namespace, "client-documents", "Delete"),
        provision(namespace, "mysql-data", "Delete"),
    ]
    return ExitTenant(plane, db, exit_name, namespace, report, volumes)


def remove_tenant(tenant: ExitTenant) -> None:
    """Cancel the exit if it still exists, then delete what the tenant had."""
    if tenant.exit() is not None:
        tenant.delete_exit()
    tenant.plane.kubectl("delete", "namespace", tenant.namespace, "--wait=false", check=False)
    tenant.plane.kubectl(
        "delete", "secret", f"{tenant.exit_name}-s3", "-n", OPERATOR_NAMESPACE, check=False
    )
    drop_tenant(tenant.db, tenant.schema)
