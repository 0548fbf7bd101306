"""`kubectl tenantexit withdraw-receipt` and `kubectl tenantexit links`, run as a
platform engineer would: the real kubectl binary finding the plugin on PATH,
against the real control plane, with an exit the operator (a process) took to
AwaitingReceipt on the real kubelet, database server and S3 server. Outputs and
exit codes are asserted (0 done, 2 not found or unusable).

Pinned to MariaDB: what is under test is the plugin's handling of the exit's
receipt and links Secret, which no database family changes (the receipt flow on
both families is covered by test_customer_language and test_exit_class).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.localcluster.binaries import binary
from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.families import only_on
from tests.localcluster.s3server import S3Server
from tests.localcluster.volumes import LocalVolumes
from tests.support.full_tenant import FullTenant, provision_tenant
from tests.support.operator_process import OPERATOR_NAMESPACE, OperatorProcess, running_operator
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster,
              only_on("mariadb", "the plugin's receipt and links handling is family-free")]

READER = "exit-reader"


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane, kubelet: object,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with running_operator(control_plane, Path(tmp_path_factory.mktemp("plugin-operator")),
                          {"TENANT_EXIT_BACKUP_RETRY_SECONDS": "3"}) as process:
        yield process


@pytest.fixture(scope="module")
def awaiting(operator: OperatorProcess, control_plane: ControlPlane, db_server: DatabaseServer,
             s3_server: S3Server, local_volumes: LocalVolumes) -> Iterator[FullTenant]:
    """One exit in AwaitingReceipt with a long grace period, shared by the tests below
    (none of them lets it reach Deleting)."""
    made = provision_tenant(control_plane, db_server, s3_server, local_volumes,
                            OPERATOR_NAMESPACE, clients=5, files=4)
    made.apply(made.body(licence_seconds=None, grace="1h"))
    made.wait_for_phase("AwaitingReceipt", 240)
    yield made
    made.clean_up()


EXIT_READING = {"apiGroups": ["tenantexit.io"], "resources": ["tenantexits"],
                "verbs": ["get", "list"]}


@pytest.fixture(scope="module")
def reader_kubeconfig(control_plane: ControlPlane,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Someone who may read TenantExits and their Events but not Secrets: not
    authorised for the links."""
    yield from _kubeconfig_for(control_plane, tmp_path_factory, READER, [
        EXIT_READING, {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]}])


@pytest.fixture(scope="module")
def exit_only_kubeconfig(control_plane: ControlPlane,
                         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Someone who may read TenantExits and nothing else, not even their Events."""
    yield from _kubeconfig_for(control_plane, tmp_path_factory, f"{READER}-exits",
                               [EXIT_READING])


def _kubeconfig_for(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory,
                    user: str, rules: list[dict[str, Any]]) -> Iterator[Path]:
    """A ServiceAccount with exactly `rules`, cluster-wide, and a kubeconfig with its
    token; removed afterwards."""
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": user, "namespace": "default"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": user}, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": user},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": user},
         "subjects": [{"kind": "ServiceAccount", "name": user, "namespace": "default"}]},
    ]
    control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))
    token = control_plane.kubectl("create", "token", user, "-n", "default",
                                  "--duration=1h").stdout.strip()
    admin = yaml.safe_load(control_plane.kubeconfig.read_text())
    cluster = admin["clusters"][0]
    path = Path(tmp_path_factory.mktemp(user)) / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": [cluster],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": cluster["name"], "user": user}}],
        "current-context": user}))
    yield path
    for kind in ("clusterrolebinding", "clusterrole"):
        control_plane.kubectl("delete", kind, user, check=False)
    control_plane.kubectl("delete", "serviceaccount", user, "-n", "default", check=False)


def plugin(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`kubectl tenantexit ...` with the package's entry point on PATH."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run([binary("kubectl"), "tenantexit", *args], capture_output=True,
                          text=True, check=False, timeout=120,
                          env={**os.environ, "PATH": path, "KUBECONFIG": str(kubeconfig)})


def links_secret(plane: ControlPlane, exit: dict[str, Any]) -> dict[str, Any]:
    namespace, name = exit["status"]["backup"]["downloadSecret"].split("/")
    secret = json.loads(plane.kubectl("get", "secret", name, "-n", namespace, "-o",
                                      "json").stdout)
    return dict(json.loads(base64.b64decode(secret["data"]["links.json"])))


def test_links_prints_every_link_with_its_expiry(awaiting: FullTenant,
                                                 control_plane: ControlPlane) -> None:
    exit = awaiting.get()
    stored = links_secret(control_plane, exit)
    shown = plugin(control_plane.kubeconfig, "links", awaiting.exit_name)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == f"links expire at {stored['expiresAt']}"
    assert lines[1:] == [f"{link['file']}\t{link['url']}" for link in stored["objects"]]
    assert {"manifest.json", "manifest.json.sig", "README.txt"} <= {
        line.split("\t")[0] for line in lines[1:]}
    # status is second precision (metav1.Time); the Secret keeps the microseconds.
    expires = datetime.fromisoformat(stored["expiresAt"]).replace(microsecond=0)
    assert expires == datetime.fromisoformat(
        exit["status"]["backup"]["linksExpireAt"].replace("Z", "+00:00"))

    # The link it prints is the one that works: the manifest the receipt must quote.
    url = next(line.split("\t")[1] for line in lines[1:] if line.startswith("manifest.json\t"))
    assert url.startswith(("http://", "https://")), url
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (checked above)
        body = response.read()
    assert hashlib.sha256(body).hexdigest() == exit["status"]["backup"]["manifestSha256"]

    as_json = plugin(control_plane.kubeconfig, "links", awaiting.exit_name, "-o", "json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == stored
    as_yaml = plugin(control_plane.kubeconfig, "links", awaiting.exit_name, "-o", "yaml")
    assert as_yaml.returncode == 0 and yaml.safe_load(as_yaml.stdout) == stored


def test_links_is_refused_to_whom_may_not_read_the_secret(
        awaiting: FullTenant, reader_kubeconfig: Path) -> None:
    refused = plugin(reader_kubeconfig, "links", awaiting.exit_name)
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr == "error: Kubernetes API answered HTTP 403 Forbidden\n"
    # The same user may see the story, which holds no credential.
    story = plugin(reader_kubeconfig, "status", awaiting.exit_name, "-o", "json")
    assert story.returncode == 0, story.stderr


def test_status_without_leave_to_list_events_shows_the_rest_and_says_so(
        awaiting: FullTenant, exit_only_kubeconfig: Path) -> None:
    shown = plugin(exit_only_kubeconfig, "status", awaiting.exit_name)
    assert shown.returncode == 0, shown.stderr
    assert "Phase:   AwaitingReceipt" in shown.stdout
    assert ("Events:  not shown: you may not list Events in namespace default"
            in shown.stdout), shown.stdout
    assert f"sha256   {awaiting.get()['status']['backup']['manifestSha256']}" in shown.stdout
    story = json.loads(plugin(exit_only_kubeconfig, "status", awaiting.exit_name,
                              "-o", "json").stdout)
    assert story["events"] is None and story["phase"] == "AwaitingReceipt"


def test_links_and_withdraw_of_an_unknown_exit_say_not_found(
        control_plane: ControlPlane) -> None:
    for command in ("links", "withdraw-receipt"):
        missing = plugin(control_plane.kubeconfig, command, "no-such-exit")
        assert missing.returncode == 2, command
        assert 'tenantexits.tenantexit.io "no-such-exit" not found' in missing.stderr


def test_withdraw_receipt_inside_the_grace_period_cancels_the_deletion(
        awaiting: FullTenant, control_plane: ControlPlane) -> None:
    kubeconfig = control_plane.kubeconfig
    nothing = plugin(kubeconfig, "withdraw-receipt", awaiting.exit_name)
    assert nothing.returncode == 0, nothing.stderr
    assert nothing.stdout == f"TenantExit {awaiting.exit_name} has no receipt to withdraw\n"

    digest = awaiting.get()["status"]["backup"]["manifestSha256"]
    confirmed = plugin(kubeconfig, "confirm-receipt", awaiting.exit_name,
                       "--manifest-sha256", digest, "--by", "it@zorggroep-noord.nl")
    assert confirmed.returncode == 0 and "deletion not before 20" in confirmed.stdout, (
        confirmed.stdout + confirmed.stderr)
    receipt = awaiting.condition("ReceiptConfirmed")
    assert receipt is not None and receipt["status"] == "True"

    withdrawn = plugin(kubeconfig, "withdraw-receipt", awaiting.exit_name)
    assert withdrawn.returncode == 0, withdrawn.stderr
    assert withdrawn.stdout == (f"receipt of {awaiting.exit_name} withdrawn: the deletion will "
                                "not start\n")
    assert "receipt" not in awaiting.get()["spec"]
    condition = wait_for("ReceiptConfirmed=False/ReceiptWithdrawn", lambda: (
        c if (c := awaiting.condition("ReceiptConfirmed")) and c["reason"] == "ReceiptWithdrawn"
        else None), timeout=60)
    assert condition["status"] == "False" and "nothing was deleted" in condition["message"]
    status = awaiting.get()["status"]
    assert status["phase"] == "AwaitingReceipt" and not status.get("receipt")
    assert not (status.get("deletion") or {}).get("notBefore"), "the deletion clock stopped"
    assert awaiting.namespace_exists()
    story = plugin(kubeconfig, "status", awaiting.exit_name)
    assert story.returncode == 0 and "ReceiptWithdrawn" in story.stdout
