"""One view of a TenantExit and its tenant on the local stack: what a user
would read (`kubectl get texit`, conditions, events, the namespace, the
tenant's grants and schema) and do (apply, patch, delete).

`ExitTenant` (exit_tenant.py, the operator's integration tests) and
`FullTenant` (full_tenant.py, end-to-end runs and `make demo`) are this view
plus how each is provisioned and which TenantExit body it applies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml
from kubernetes import client

from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.dbserver import Connection, DatabaseServer
from tests.localcluster.seed import SeedReport
from tests.support.waiting import wait_for


@dataclass
class ExitView:
    plane: ControlPlane
    db: DatabaseServer
    exit_name: str
    namespace: str
    report: SeedReport

    PHASE_TIMEOUT: ClassVar[float] = 90

    @property
    def schema(self) -> str:
        return self.report.schema

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.plane.api_client())

    # -- the TenantExit ----------------------------------------------------
    def apply(self, body: dict[str, Any]) -> None:
        self.plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(body))

    def patch_spec(self, patch: dict[str, Any], name: str | None = None) -> None:
        self.plane.kubectl("patch", "texit", name or self.exit_name, "--type=merge",
                           "-p", json.dumps({"spec": patch}))

    def exit(self, name: str | None = None) -> dict[str, Any] | None:
        """The TenantExit as `kubectl get -o json` shows it; None once it is gone."""
        result = self.plane.kubectl(
            "get", "texit", name or self.exit_name, "-o", "json", check=False
        )
        return json.loads(result.stdout) if result.returncode == 0 else None

    def get(self, name: str | None = None) -> dict[str, Any]:
        """The TenantExit, which must exist."""
        found = self.exit(name)
        assert found is not None, f"TenantExit {name or self.exit_name} does not exist"
        return found

    def condition(self, type: str, name: str | None = None) -> dict[str, Any] | None:
        exit = self.exit(name) or {}
        found = [c for c in exit.get("status", {}).get("conditions", []) if c["type"] == type]
        return found[0] if found else None

    def wait_for_phase(self, phase: str, timeout: float | None = None) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            exit = self.exit()
            return exit if exit and exit.get("status", {}).get("phase") == phase else None

        return wait_for(f"TenantExit {self.exit_name} in phase {phase}", reached,
                        timeout or self.PHASE_TIMEOUT)

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        out = self.plane.kubectl(
            "get", "events", "-n", "default", "-o", "json",
            f"--field-selector=involvedObject.name={name or self.exit_name}",
        ).stdout
        return list(json.loads(out)["items"])

    def clean_up(self) -> None:
        """After a test: the exit first (waiting for its cancel or its finished exit; a
        timeout says why, with conditions and Events), the namespace in any case."""
        try:
            self.delete_exit(timeout=150)
        finally:
            self.plane.kubectl("delete", "namespace", self.namespace, "--wait=false",
                               check=False)

    def delete_exit(self, name: str | None = None, timeout: float = 90) -> None:
        self.plane.kubectl("delete", "texit", name or self.exit_name, "--wait=false", check=False)
        try:
            wait_for(f"TenantExit {name or self.exit_name} gone",
                     lambda: self.exit(name) is None, timeout)
        except TimeoutError as error:
            # Say why the cancel did not finish: the exit's conditions and Events.
            left = self.exit(name) or {}
            conditions = [(c.get("type"), c.get("status"), c.get("reason"), c.get("message"))
                          for c in left.get("status", {}).get("conditions", [])]
            events = [(e.get("reason"), e.get("message")) for e in self.events(name)][-8:]
            raise TimeoutError(f"{error}; phase {left.get('status', {}).get('phase')}, "
                               f"conditions {conditions}, events {events}") from None

    def jobs(self) -> list[client.V1Job]:
        batch = client.BatchV1Api(self.plane.api_client())
        return list(batch.list_namespaced_job(
            self.namespace, label_selector=f"tenantexit.io/exit={self.exit_name}"
        ).items)

    # -- the tenant's namespace ---------------------------------------------
    def namespace_meta(self) -> client.V1ObjectMeta:
        return self.core.read_namespace(self.namespace).metadata

    def namespace_exists(self) -> bool:
        return self.plane.kubectl("get", "namespace", self.namespace, check=False).returncode == 0

    def try_delete_namespace(self) -> str:
        """`kubectl delete namespace` as an admin would; returns the refusal ("" if allowed)."""
        result = self.plane.kubectl("delete", "namespace", self.namespace, "--wait=false",
                                    check=False)
        return result.stderr.strip() if result.returncode != 0 else ""

    def app_flag(self) -> str | None:
        cm = self.core.read_namespaced_config_map("app-settings", self.namespace)
        return (cm.data or {}).get("READ_ONLY")

    # -- the tenant's database ------------------------------------------------
    def app_connection(self) -> Connection:
        return self.db.connect(database=self.schema, user=self.report.app_user,
                               password=self.report.app_password)

    def show_grants(self) -> list[str]:
        with self.db.connect() as conn, conn.cursor() as cur:
            cur.execute("SHOW GRANTS FOR %s@'%%'", (self.report.app_user,))
            return sorted(row[0] for row in cur.fetchall())

    def schema_exists(self) -> bool:
        with self.db.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s",
                        (self.schema,))
            row = cur.fetchone()
            return bool(row and row[0])
