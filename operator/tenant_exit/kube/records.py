"""Revert records: what the exit changed and must restore on cancel.

Kept in a Secret in the operator's namespace, not in status: the prior grants of
an account can include its password hash (MariaDB's SHOW GRANTS prints it), and
status is readable by everyone who can read the TenantExit.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Final

from kubernetes import client
from kubernetes.client import models as k

from tenant_exit.api.owner import Owner
from tenant_exit.kube.errors import tolerate
from tenant_exit.kube.ownership import owned_labels, owner_reference
from tenant_exit.kube.secrets import SecretProblem

LOST_ACKNOWLEDGED: Final = "tenantexit.io/revert-record-lost"
"""Annotation (value `acknowledged`) with which a person confirms they restored by
hand what a lost revert record would have restored; the cancel then finishes."""


class RevertRecordLost(SecretProblem):
    """The exit changed the database but the record to undo it is gone."""


def record_name(exit_name: str) -> str:
    return f"{exit_name}-revert"


def read_record(core: client.CoreV1Api, namespace: str, exit_name: str, key: str) -> Any | None:
    with tolerate(404):
        secret = core.read_namespaced_secret(record_name(exit_name), namespace)
        raw = (secret.data or {}).get(key)
        return None if raw is None else json.loads(base64.b64decode(raw))
    return None


def write_record_once(
    core: client.CoreV1Api, namespace: str, owner: Owner, key: str, value: Any
) -> Any:
    """Store `value` under `key` unless a value is already there; return the stored one.

    The first value wins: a pass re-run after a crash must not overwrite the
    original grants with the already-revoked ones."""
    existing = read_record(core, namespace, owner.name, key)
    if existing is not None:
        return existing
    encoded = base64.b64encode(json.dumps(value).encode()).decode()
    secret = k.V1Secret(
        metadata=k.V1ObjectMeta(
            name=record_name(owner.name),
            namespace=namespace,
            labels=owned_labels(owner, "revert-record"),
            owner_references=[owner_reference(owner)],
        ),
        type="Opaque",
        data={key: encoded},
    )
    try:
        core.create_namespaced_secret(namespace, secret)
    except client.ApiException as error:
        if error.status != 409:
            raise
        core.patch_namespaced_secret(record_name(owner.name), namespace, {"data": {key: encoded}})
    return value


def forget_record(core: client.CoreV1Api, namespace: str, exit_name: str, key: str) -> None:
    with tolerate(404):
        core.patch_namespaced_secret(record_name(exit_name), namespace, {"data": {key: None}})


def delete_record(core: client.CoreV1Api, namespace: str, exit_name: str) -> None:
    with tolerate(404):
        core.delete_namespaced_secret(record_name(exit_name), namespace)


def record_exists(core: client.CoreV1Api, namespace: str, exit_name: str) -> bool:
    with tolerate(404):
        core.read_namespaced_secret(record_name(exit_name), namespace)
        return True
    return False


def require_record(core: client.CoreV1Api, namespace: str, exit_name: str,
                   changed: str | None, acknowledged: bool) -> None:
    """Refuse to cancel silently when the record is gone: the revoked grants (or the
    server's read_only flag) would stay as the exit left them. `changed` says what
    only the record can undo (phases/revert_record.lost_changes). The Secret lives in
    the operator's namespace; deleting that namespace, or reinstalling the chart
    into another one, loses it. A person restores by hand and acknowledges."""
    if changed is None or acknowledged or record_exists(core, namespace, exit_name):
        return
    raise RevertRecordLost(
        f"the revert record Secret {namespace}/{record_name(exit_name)} is gone (was the "
        f"namespace deleted, or the chart reinstalled elsewhere?), so {changed} cannot be "
        "restored automatically. Restore them by hand (the grants as they were before the "
        "exit), then annotate the TenantExit "
        f"`{LOST_ACKNOWLEDGED}=acknowledged` to let the cancel finish"
    )
