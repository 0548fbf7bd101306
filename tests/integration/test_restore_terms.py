"""Issue 13: the restore verification level is a backed-up term. Once the backup
began it is recorded in status.terms.restoreVerification; the terms policy
(crds/namespace-guard-policy.yaml) on the real kube-apiserver refuses an edit
that would loosen it, and the step into Deleting is decided on the recorded level
whatever the live spec says.

No database is touched (the exits point at a server that is never reached), so
these run once, not per database family.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from tenant_exit.api import conditions as c
from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit
from tenant_exit.reconcile.context import Context
from tenant_exit.reconcile.passes import cancel, reconcile
from tenant_exit.settings import OperatorSettings
from tests.localcluster.controlplane import ControlPlane
from tests.support.exits import DIGEST, example_spec
from tests.support.operator_process import OPERATOR_NAMESPACE, install_crds, operator_kubeconfig

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def ctx(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Context:
    """The operator's identity: only it may write a TenantExit's status."""
    install_crds(control_plane)
    path = operator_kubeconfig(control_plane, Path(tmp_path_factory.mktemp("rt")) / "kc")
    api = config.new_client_from_config(config_file=str(path))
    return Context(core=client.CoreV1Api(api), batch=client.BatchV1Api(api),
                   custom=client.CustomObjectsApi(api),
                   settings=OperatorSettings(operator_namespace=OPERATOR_NAMESPACE))


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class Exit:
    def __init__(self, plane: ControlPlane, ctx: Context) -> None:
        suffix = uuid.uuid4().hex[:6]
        self.plane, self.ctx = plane, ctx
        self.name, self.namespace = f"restore-{suffix}", f"tenant-restore-{suffix}"
        self.uid = ""

    def apply(self, restore: str | None, **spec_fields: Any) -> None:
        spec = example_spec(self.namespace)
        # No freeze to keep: the server is never reached (nor is it dumped here).
        spec["readOnly"] = {"database": "None",
                            "writesNotFrozenAcknowledgement": "test: no server is reached"}
        if restore is not None:
            spec["verification"] = {"restore": restore}
        spec.update(spec_fields)
        body = {"apiVersion": names.API_VERSION, "kind": names.KIND,
                "metadata": {"name": self.name}, "spec": spec}
        self.plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(body))
        self.uid = str(self.read()["metadata"]["uid"])

    def read(self) -> dict[str, Any]:
        got: dict[str, Any] = self.ctx.custom.get_cluster_custom_object(
            names.GROUP, names.VERSION, names.PLURAL, self.name)
        return got

    def set_status(self, status: dict[str, Any]) -> None:
        self.ctx.custom.patch_cluster_custom_object_status(
            names.GROUP, names.VERSION, names.PLURAL, self.name, {"status": status})

    def terms(self, level: str) -> dict[str, Any]:
        """As the operator records them when the first backup Job starts."""
        return {"exitUid": self.uid, "host": "mysql.tenant-zorggroep-noord.svc", "port": 3306,
                "schemas": ["ons"], "claims": ["client-documents"], "bucket": "tenant-exits",
                "prefix": "zorggroep-noord/",
                "exitFolder": names.exit_folder("zorggroep-noord/", self.name, self.uid),
                "restoreVerification": level}

    def patch_spec(self, spec: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        result: subprocess.CompletedProcess[str] = self.plane.kubectl(
            "patch", "texit", self.name, "--type=merge", "-p", json.dumps({"spec": spec}),
            check=False)
        return result

    def live_restore(self) -> str | None:
        verification = self.read()["spec"].get("verification") or {}
        return verification.get("restore")


@pytest.fixture
def exit(control_plane: ControlPlane, ctx: Context) -> Iterator[Exit]:
    made = Exit(control_plane, ctx)
    yield made
    if made.uid:
        cancel(TenantExit.from_body(made.read()), ctx)  # lifts any guard a pass applied
    control_plane.kubectl("delete", "texit", made.name, "--wait=false", check=False)
    control_plane.kubectl("delete", "namespace", made.namespace, "--wait=false", check=False)


# --- admission ---------------------------------------------------------------------


@pytest.mark.parametrize(("applied", "recorded", "edit", "says"), [
    pytest.param(None, "Required", {"verification": {"restore": "BestEffort"}},
                 "cannot become BestEffort", id="default-required-to-best-effort"),
    pytest.param("Required", "Required", {"verification": {
        "restore": "Off", "offReason": "we trust the dump"}},
                 "cannot become Off", id="required-to-off"),
    pytest.param("BestEffort", "BestEffort", {"verification": None},
                 "cannot be removed", id="removed-to-a-default"),
])
def test_loosening_the_recorded_restore_level_is_refused(
        exit: Exit, applied: str | None, recorded: str, edit: dict[str, Any], says: str) -> None:
    exit.apply(applied)
    exit.set_status({"phase": "BackupRunning", "terms": exit.terms(recorded)})
    refused = exit.patch_spec(edit)
    assert refused.returncode != 0, "the edit was admitted"
    assert f"began its backup under restore verification {recorded} " \
           "(status.terms.restoreVerification)" in refused.stderr, refused.stderr
    assert says in refused.stderr and "create a new one" in refused.stderr
    assert exit.live_restore() == applied


def test_before_the_record_the_level_may_change_and_naming_the_recorded_one_is_allowed(
        exit: Exit) -> None:
    exit.apply("Required")
    exit.set_status({"phase": "ReadOnlyLicensed"})
    loosened = exit.patch_spec({"verification": {"restore": "BestEffort"}})
    assert loosened.returncode == 0, loosened.stderr
    exit.patch_spec({"verification": None})
    exit.set_status({"phase": "AwaitingReceipt", "terms": exit.terms("Required")})
    named = exit.patch_spec({"verification": {"restore": "Required"}})
    assert named.returncode == 0, named.stderr
    assert exit.live_restore() == "Required"


# --- the step into Deleting ----------------------------------------------------------


def test_the_step_into_deleting_holds_to_the_recorded_level_not_the_live_spec(
        exit: Exit, ctx: Context) -> None:
    """The spec says BestEffort (as a cluster without the terms policy would let it
    say), the backup began under Required, and its proof is Unknown (TooLarge): the
    grace period has passed, yet the exit stays in AwaitingReceipt and stalls."""
    namespace = ctx.core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=exit.namespace)))
    exit.apply("BestEffort", receipt={"confirmedBy": "it@zorggroep-noord.example",
                                      "manifestSha256": DIGEST})
    now = datetime.now(UTC)
    folder = names.exit_folder("zorggroep-noord/", exit.name, exit.uid)
    exit.set_status({
        "phase": "AwaitingReceipt",
        "tenant": {"namespaceUid": namespace.metadata.uid},
        "terms": exit.terms("Required"),
        "conditions": [{"type": c.RESTORE_VERIFIED, "status": "Unknown",
                        "reason": c.RESTORE_TOO_LARGE, "message": "restore not verified",
                        "lastTransitionTime": _stamp(now - timedelta(days=4))}],
        "backup": {"job": f"{exit.name}-backup-1", "attempts": 1,
                   "manifest": f"{folder}attempt-1/manifest.json", "manifestSha256": DIGEST,
                   "linksExpireAt": _stamp(now + timedelta(days=6)), "schemas": ["ons"]},
        "receipt": {"confirmedAt": _stamp(now - timedelta(days=4)),
                    "confirmedBy": "it@zorggroep-noord.example"},
        "deletion": {"notBefore": _stamp(now - timedelta(minutes=1))},
    })
    assert exit.live_restore() == "BestEffort"

    reconcile(TenantExit.from_body(exit.read()), ctx)

    status = exit.read()["status"]
    assert status["phase"] == "AwaitingReceipt"
    stalled = next(x for x in status["conditions"] if x["type"] == c.STALLED)
    assert (stalled["status"], stalled["reason"]) == ("True", c.RESTORE_NOT_PROVEN)
    assert "restore verification Required (status.terms.restoreVerification)" \
        in stalled["message"]
    assert "RestoreVerified is Unknown (TooLarge)" in stalled["message"]
    assert not any(x["type"] == c.DELETED for x in status["conditions"])
    live = ctx.core.read_namespace(exit.namespace)
    assert live.metadata.deletion_timestamp is None
    assert (live.metadata.labels or {}).get(names.LABEL_DELETION) == names.DELETION_BLOCKED
