"""Issue 10, scenario 2: from BackupRunning on the backed-up terms are frozen at
admission, and only the operator writes a TenantExit's status. The generated
ValidatingAdmissionPolicy (crds/namespace-guard-policy.yaml) on the real
kube-apiserver; a cancel (DELETE) stays possible."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

from tenant_exit.api import names
from tests.localcluster.controlplane import ControlPlane
from tests.support.exits import example_spec
from tests.support.operator_process import install_crds, operator_kubeconfig
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def operator_custom(control_plane: ControlPlane,
                    tmp_path_factory: pytest.TempPathFactory) -> client.CustomObjectsApi:
    install_crds(control_plane)
    path = operator_kubeconfig(control_plane, Path(tmp_path_factory.mktemp("adm")) / "kc")
    return client.CustomObjectsApi(config.new_client_from_config(config_file=str(path)))


@pytest.fixture
def exit_name(control_plane: ControlPlane) -> Iterator[str]:
    name = f"frozen-{uuid.uuid4().hex[:6]}"
    body = {"apiVersion": names.API_VERSION, "kind": names.KIND, "metadata": {"name": name},
            "spec": example_spec(f"tenant-{name}")}
    control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(body))
    yield name
    control_plane.kubectl("delete", "texit", name, "--wait=false", check=False)


def set_phase(custom: client.CustomObjectsApi, name: str, phase: str) -> None:
    custom.patch_cluster_custom_object_status(names.GROUP, names.VERSION, names.PLURAL, name,
                                              {"status": {"phase": phase}})


def patch(plane: ControlPlane, name: str, body: dict, *extra: str
          ) -> subprocess.CompletedProcess[str]:
    result: subprocess.CompletedProcess[str] = plane.kubectl(
        "patch", "texit", name, "--type=merge", "-p", json.dumps(body), *extra, check=False)
    return result


EDITS = [
    pytest.param({"database": {"databases": ["ons", "ons_archive"]}}, id="databases"),
    pytest.param({"database": {"host": "other-server.example"}}, id="host"),
    pytest.param({"database": {"excludeTables": ["*.clients"]}}, id="excludeTables"),
    pytest.param({"destination": {"encryption": {"ageRecipients": [
        "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"]}}}, id="recipients"),
    pytest.param({"destination": {"s3": {"prefix": "elsewhere/"}}}, id="prefix"),
]


@pytest.mark.parametrize("edit", EDITS)
def test_editing_the_backed_up_terms_in_awaiting_receipt_is_refused(
        control_plane: ControlPlane, operator_custom: client.CustomObjectsApi, exit_name: str,
        edit: dict) -> None:
    set_phase(operator_custom, exit_name, "AwaitingReceipt")
    refused = wait_for("the policy to refuse the edit", lambda: (
        r := patch(control_plane, exit_name, {"spec": edit})).returncode != 0 and r)
    assert "phase AwaitingReceipt" in refused.stderr, refused.stderr
    assert "status.terms" in refused.stderr and "cannot change" in refused.stderr
    spec = json.loads(control_plane.kubectl("get", "texit", exit_name, "-o", "json").stdout)
    assert spec["spec"]["database"]["databases"] == ["ons"]
    assert spec["spec"]["database"]["host"] == "mysql.tenant-zorggroep-noord.svc"


def test_before_the_backup_the_terms_may_change_and_later_the_receipt_still_may(
        control_plane: ControlPlane, operator_custom: client.CustomObjectsApi,
        exit_name: str) -> None:
    set_phase(operator_custom, exit_name, "ReadOnlyLicensed")
    changed = patch(control_plane, exit_name, {"spec": {"database": {"databases": ["ons", "x"]}}})
    assert changed.returncode == 0, changed.stderr
    set_phase(operator_custom, exit_name, "AwaitingReceipt")
    receipt = {"confirmedBy": "it@example.org", "manifestSha256": "ab" * 32}
    accepted = patch(control_plane, exit_name, {"spec": {"receipt": receipt}})
    assert accepted.returncode == 0, accepted.stderr


def test_only_the_operator_writes_the_status(control_plane: ControlPlane,
                                             operator_custom: client.CustomObjectsApi,
                                             exit_name: str) -> None:
    set_phase(operator_custom, exit_name, "AwaitingReceipt")
    refused = wait_for("the policy to refuse the status write", lambda: (
        r := patch(control_plane, exit_name, {"status": {"phase": "Deleting"}},
                   "--subresource=status")).returncode != 0 and r)
    assert "written by the tenant-exit operator only" in refused.stderr, refused.stderr
    got = json.loads(control_plane.kubectl("get", "texit", exit_name, "-o", "json").stdout)
    assert got["status"]["phase"] == "AwaitingReceipt"


def test_a_cancel_stays_possible_after_the_backup(control_plane: ControlPlane,
                                                  operator_custom: client.CustomObjectsApi,
                                                  exit_name: str) -> None:
    set_phase(operator_custom, exit_name, "AwaitingReceipt")
    deleted = control_plane.kubectl("delete", "texit", exit_name, "--wait=true",
                                    "--timeout=30s", check=False)
    assert deleted.returncode == 0, deleted.stderr
