"""Waiting for the class-limits admission policy to see a change.

The apiserver feeds its admission-policy cache (bindings, and the TenantExitClasses
that are the policy's params) from watches, so a class or binding just created or
deleted takes effect a moment later. A server-side dry run asks the same admission
chain without storing anything: probing with an exit the policy must refuse (or
must let through) is how a test knows the change arrived, without a sleep.
"""

from __future__ import annotations

from typing import Any

import yaml

from tenant_exit.api.class_admission import POLICY_NAME
from tests.localcluster.controlplane import ControlPlane
from tests.support.waiting import wait_for


def wait_until_admission(control_plane: ControlPlane, body: dict[str, Any], refuses: bool,
                         timeout: float = 30) -> None:
    """Until a dry-run apply of `body` is refused by the class-limits policy
    (refuses=True) or accepted (refuses=False)."""
    def settled() -> bool:
        answer = control_plane.kubectl("apply", "--dry-run=server", "-f", "-", check=False,
                                       input=yaml.safe_dump(body))
        if refuses:
            return answer.returncode != 0 and POLICY_NAME in answer.stderr
        return answer.returncode == 0

    wait_for(f"the class-limits policy to {'refuse' if refuses else 'accept'} "
             f"{body['metadata']['name']}", settled, timeout=timeout)
