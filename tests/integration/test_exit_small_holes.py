"""Issue 10, small holes and scenario 7, at `kubectl apply` on the real API server:
a zero grace period, an empty schema list on a server outside the tenant
namespace and a system schema in another letter case are refused with a message
that says why; an empty list for a server inside the namespace stays allowed."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import yaml

from tenant_exit.api import names
from tests.localcluster.controlplane import ControlPlane
from tests.support.exits import example_spec
from tests.support.operator_process import install_crds

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def plane(control_plane: ControlPlane) -> ControlPlane:
    install_crds(control_plane)
    return control_plane


def apply(plane: ControlPlane, spec: dict[str, Any]) -> tuple[int, str]:
    name = f"holes-{uuid.uuid4().hex[:6]}"
    body = {"apiVersion": names.API_VERSION, "kind": names.KIND, "metadata": {"name": name},
            "spec": spec}
    result = plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(body), check=False)
    plane.kubectl("delete", "texit", name, "--wait=false", check=False)
    return result.returncode, result.stderr


def test_a_zero_grace_period_is_refused(plane: ControlPlane) -> None:
    spec = example_spec("tenant-holes")
    spec["deletion"] = {"gracePeriod": "0s"}
    code, stderr = apply(plane, spec)
    assert code != 0 and "gracePeriod must be longer than 0s" in stderr, stderr
    spec["deletion"] = {"gracePeriod": "1m"}
    assert apply(plane, spec)[0] == 0


@pytest.mark.parametrize("host", ["mysql.shared-db.svc", "10.0.0.5", "db.example.net"])
def test_every_schema_on_a_shared_server_is_refused(plane: ControlPlane, host: str) -> None:
    spec = example_spec("tenant-holes")
    spec["database"].update(host=host, databases=[])
    code, stderr = apply(plane, spec)
    assert code != 0 and "database.databases must name the tenant's schemas" in stderr, stderr
    assert "other tenants' data" in stderr


@pytest.mark.parametrize("host", ["mysql.tenant-holes", "mysql.tenant-holes.svc",
                                  "mysql-0.mysql.tenant-holes.svc.cluster.local"])
def test_every_schema_of_a_server_inside_the_namespace_is_allowed(plane: ControlPlane,
                                                                  host: str) -> None:
    spec = example_spec("tenant-holes")
    spec["database"].update(host=host, databases=[])
    code, stderr = apply(plane, spec)
    assert code == 0, stderr


@pytest.mark.parametrize("schema", ["MYSQL", "Performance_Schema", "SYS"])
def test_a_system_schema_in_any_case_is_refused(plane: ControlPlane, schema: str) -> None:
    spec = example_spec("tenant-holes")
    spec["database"]["databases"] = ["ons", schema]
    code, stderr = apply(plane, spec)
    assert code != 0 and "system schemas" in stderr, stderr
