"""A tenant prepared for an exit on the local stack: a namespace with the dump
credentials, an app-flag ConfigMap, bound volumes, a seeded schema with its
application account, and helpers to read what a user would check."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from kubernetes import client

from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.mariadb import MariaDBServer
from tests.localcluster.seed import SeedReport, drop_tenant, seed_tenant
from tests.support.exits import example_spec
from tests.support.operator_process import OPERATOR_NAMESPACE
from tests.support.waiting import wait_for

S3_ACCESS_KEY = "AKIAEXITTESTKEY00001"
S3_SECRET_KEY = "s3-secret-never-in-status-9b1f"


@dataclass
class ExitTenant:
    plane: ControlPlane
    mariadb: MariaDBServer
    exit_name: str
    namespace: str
    report: SeedReport
    volumes: list[str] = field(default_factory=list)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.plane.api_client())

    @property
    def secrets(self) -> list[str]:
        """Every credential of this tenant: none may appear in status, events, logs."""
        return [self.mariadb.root_password, self.report.app_password, S3_SECRET_KEY]

    def spec(self, until: datetime | None, **read_only: Any) -> dict[str, Any]:
        spec = example_spec(self.namespace)
        spec["readOnly"] = {"database": "RevokeWrites", **read_only}
        spec["readOnly"]["appFlag"] = {"configMap": "app-settings", "key": "READ_ONLY"}
        if until is not None:
            spec["readOnly"]["until"] = until.strftime("%Y-%m-%dT%H:%M:%SZ")
        spec["database"].update(
            host=self.mariadb.host, port=self.mariadb.port, databases=[self.report.schema]
        )
        spec["destination"]["s3"]["credentialsSecret"] = {
            "namespace": OPERATOR_NAMESPACE,
            "name": f"{self.exit_name}-s3",
        }
        return spec

    def apply_exit(self, spec: dict[str, Any], name: str | None = None) -> None:
        body = {
            "apiVersion": "tenantexit.io/v1alpha1",
            "kind": "TenantExit",
            "metadata": {"name": name or self.exit_name},
            "spec": spec,
        }
        self.plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(body))

    def exit(self, name: str | None = None) -> dict[str, Any] | None:
        result = self.plane.kubectl(
            "get", "texit", name or self.exit_name, "-o", "json", check=False
        )
        return json.loads(result.stdout) if result.returncode == 0 else None

    def wait_for_phase(self, phase: str, timeout: float = 90) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            exit = self.exit()
            return exit if exit and exit.get("status", {}).get("phase") == phase else None

        return wait_for(f"TenantExit {self.exit_name} in phase {phase}", reached, timeout)

    def condition(self, type: str, name: str | None = None) -> dict[str, Any] | None:
        exit = self.exit(name) or {}
        found = [c for c in exit.get("status", {}).get("conditions", []) if c["type"] == type]
        return found[0] if found else None

    def namespace_meta(self) -> client.V1ObjectMeta:
        return self.core.read_namespace(self.namespace).metadata

    def reclaim_policies(self) -> dict[str, str]:
        return {
            pv.metadata.name: pv.spec.persistent_volume_reclaim_policy
            for pv in self.core.list_persistent_volume().items
            if pv.metadata.name in self.volumes
        }

    def app_flag(self) -> str | None:
        cm = self.core.read_namespaced_config_map("app-settings", self.namespace)
        return (cm.data or {}).get("READ_ONLY")

    def app_connection(self) -> Any:
        return self.mariadb.connect(
            database=self.report.schema,
            user=self.report.app_user,
            password=self.report.app_password,
        )

    def show_grants(self) -> list[str]:
        conn = self.mariadb.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW GRANTS FOR %s@'%%'", (self.report.app_user,))
                return sorted(row[0] for row in cur.fetchall())
        finally:
            conn.close()

    def jobs(self) -> list[client.V1Job]:
        batch = client.BatchV1Api(self.plane.api_client())
        return batch.list_namespaced_job(
            self.namespace, label_selector=f"tenantexit.io/exit={self.exit_name}"
        ).items

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        out = self.plane.kubectl(
            "get",
            "events",
            "-n",
            "default",
            "-o",
            "json",
            f"--field-selector=involvedObject.name={name or self.exit_name}",
        ).stdout
        items: list[dict[str, Any]] = json.loads(out)["items"]
        return items

    def delete_exit(self, name: str | None = None, timeout: float = 90) -> None:
        self.plane.kubectl("delete", "texit", name or self.exit_name, "--wait=false", check=False)
        wait_for(
            f"TenantExit {name or self.exit_name} gone",
            lambda: self.exit(name) is None,
            timeout,
        )


def in_seconds(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def prepare_tenant(
    plane: ControlPlane,
    mariadb: MariaDBServer,
    provision: Callable[[str, str, str], str],
) -> ExitTenant:
    """Namespace, Secrets, ConfigMap, two bound volumes and a seeded schema.

    `provision(namespace, claim, reclaim_policy) -> pv_name` binds a volume."""
    suffix = uuid.uuid4().hex[:6]
    exit_name = f"exit-{suffix}"
    namespace = f"tenant-{suffix}"
    schema = f"t_{suffix}"
    report = seed_tenant(mariadb, schema, clients=2, documents_dir=None, files=0)
    core = client.CoreV1Api(plane.api_client())
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="exit-dump-credentials"),
            string_data={"username": mariadb.root_user, "password": mariadb.root_password},
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
    return ExitTenant(plane, mariadb, exit_name, namespace, report, volumes)


def remove_tenant(tenant: ExitTenant) -> None:
    """Cancel the exit if it still exists, then delete what the tenant had."""
    if tenant.exit() is not None:
        tenant.delete_exit()
    tenant.plane.kubectl("delete", "namespace", tenant.namespace, "--wait=false", check=False)
    tenant.plane.kubectl(
        "delete", "secret", f"{tenant.exit_name}-s3", "-n", OPERATOR_NAMESPACE, check=False
    )
    drop_tenant(tenant.mariadb, tenant.report.schema)
