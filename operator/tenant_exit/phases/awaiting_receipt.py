"""AwaitingReceipt: the backup is delivered; the exit waits for the customer.

A receipt counts only when it quotes this backup's manifest digest exactly; a
wrong digest changes nothing but a condition. A matching receipt starts the
grace period (status.deletion.notBefore); withdrawing or breaking the receipt
before then cancels the deletion. When the grace period has passed the exit
enters Deleting, the irreversible step.
"""

from __future__ import annotations

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus, Phase
from tenant_exit.api.types import parse_go_duration
from tenant_exit.phases.actions import (
    Action,
    ClearReceipt,
    DeliverBackup,
    RecordReceipt,
    SetCondition,
    SetPhase,
)
from tenant_exit.phases.guards import guard_missing, keep_guards
from tenant_exit.phases.observed import Observed
from tenant_exit.phases.read_only import keep_read_only

PHASE = Phase.AWAITING_RECEIPT


def decide(exit: TenantExit, seen: Observed) -> list[Action]:
    backup = exit.status.backup
    assert backup is not None and backup.manifest and backup.manifest_sha256
    actions: list[Action] = [*keep_guards(exit, seen, PHASE), *keep_read_only(exit, seen)]
    renew_at = (
        backup.links_expire_at - seen.backup_policy.links_valid_for / 7
        if backup.links_expire_at else None
    )
    if renew_at is None or seen.now >= renew_at:
        actions.append(DeliverBackup(backup.manifest, backup.manifest_sha256))
    return actions + _receipt(exit, seen, backup.manifest_sha256, backup.download_secret)


def _receipt(exit: TenantExit, seen: Observed, digest: str,
             secret: str | None) -> list[Action]:
    receipt = exit.spec.receipt
    accepted = exit.status.receipt is not None and exit.status.receipt.confirmed_at is not None
    if receipt is None:
        waiting = SetCondition(
            c.READY, ConditionStatus.TRUE, c.RECEIPT_PENDING,
            f"Backup delivered (download links in Secret {secret}); waiting for spec.receipt "
            f"quoting manifestSha256 {digest}",
        )
        if not accepted:
            return [waiting]
        return [
            ClearReceipt(),
            SetCondition(
                c.RECEIPT_CONFIRMED, ConditionStatus.FALSE, c.RECEIPT_WITHDRAWN,
                "Receipt withdrawn within the grace period: the deletion is cancelled and "
                "nothing was deleted",
            ),
            waiting,
        ]
    if receipt.manifest_sha256 != digest:
        message = (
            f"spec.receipt.manifestSha256 {receipt.manifest_sha256} does not match this "
            f"backup's manifest digest {digest}: the receipt is not accepted and nothing "
            "will be deleted. Quote status.backup.manifestSha256 exactly"
        )
        reason = c.RECEIPT_DIGEST_MISMATCH
        if seen.earlier_manifest is not None:  # issue 10: a re-applied old receipt
            reason = c.RECEIPT_EARLIER_BACKUP
            message = (
                f"spec.receipt.manifestSha256 {receipt.manifest_sha256} is the digest of an "
                f"earlier backup ({seen.earlier_manifest}), not of this exit's current backup "
                f"{digest}: the receipt is not accepted and nothing will be deleted. The "
                "customer must confirm receipt of the current backup"
            )
        return [
            *([ClearReceipt()] if accepted else []),
            SetCondition(c.RECEIPT_CONFIRMED, ConditionStatus.FALSE, reason, message),
            SetCondition(c.STALLED, ConditionStatus.TRUE, reason, message),
            SetCondition(c.READY, ConditionStatus.FALSE, reason, message),
        ]
    if not accepted:
        not_before = seen.now + parse_go_duration(exit.spec.deletion.grace_period)
        return [
            RecordReceipt(seen.now, receipt.confirmed_by, not_before),
            SetCondition(
                c.RECEIPT_CONFIRMED, ConditionStatus.TRUE, c.RECEIPT_CONFIRMED_REASON,
                f"Receipt confirmed by {receipt.confirmed_by} for manifest {digest}",
            ),
            _grace(exit, not_before.isoformat()),
        ]
    deletion = exit.status.deletion
    assert deletion is not None and deletion.not_before is not None
    if seen.now < deletion.not_before:
        return [_grace(exit, deletion.not_before.isoformat())]
    missing = guard_missing(seen, "entering Deleting")  # re-checked before the last step
    if missing is not None:
        return missing
    return [
        SetPhase(Phase.DELETING, f"Deleting tenant {exit.spec.tenant_namespace} irreversibly"),
        SetCondition(
            c.DELETED, ConditionStatus.FALSE, c.DELETION_IN_PROGRESS,
            f"Deleting namespace {exit.spec.tenant_namespace}, its volumes and databases",
        ),
        SetCondition(
            c.READY, ConditionStatus.TRUE, c.DELETION_IN_PROGRESS,
            "Grace period over: the irreversible deletion has started",
        ),
    ]


def _grace(exit: TenantExit, not_before: str) -> SetCondition:
    return SetCondition(
        c.READY, ConditionStatus.TRUE, c.GRACE_PERIOD,
        f"Namespace {exit.spec.tenant_namespace} will be deleted irreversibly at {not_before}; "
        "remove spec.receipt before then to cancel",
    )
