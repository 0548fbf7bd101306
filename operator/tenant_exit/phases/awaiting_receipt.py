"""AwaitingReceipt: the backup is delivered; the exit waits for the customer.

A receipt counts only when it quotes this backup's manifest digest exactly. A
matching receipt starts the grace period (status.deletion.notBefore); removing
spec.receipt before then cancels the deletion. When the grace period has passed
the exit enters Deleting, the irreversible step.

A wrong digest is a typo to correct, not an emergency: it sets
ReceiptConfirmed=False (ReceiptDigestMismatch) and Ready=False and holds the
deletion, but it neither stalls the exit (nobody is paged) nor withdraws a
receipt already accepted — quoting the right digest again resumes the same
grace period. Only removing spec.receipt withdraws it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus, Phase
from tenant_exit.api.types import parse_go_duration
from tenant_exit.phases.actions import (
    Action,
    ClearReceipt,
    DeliverBackup,
    ExtendRetention,
    RecordReceipt,
    RecordRedelivery,
    SetCondition,
    SetPhase,
)
from tenant_exit.phases.guards import guard_missing, keep_guards
from tenant_exit.phases.observed import Observed
from tenant_exit.phases.read_only import keep_read_only
from tenant_exit.phases.restore_gate import restore_hold

PHASE = Phase.AWAITING_RECEIPT
REDELIVER: Final = "tenantexit.io/redeliver"
"""Set this annotation to a new value (e.g. the time) to re-sign the download links
and rewrite README.txt now: after rotating the S3 keys, presigned links signed
with the old key stop working, and renewal would otherwise wait for their expiry."""


def decide(exit: TenantExit, seen: Observed) -> list[Action]:
    backup = exit.status.backup
    assert backup is not None and backup.manifest and backup.manifest_sha256
    actions: list[Action] = [*keep_guards(exit, seen, PHASE), *keep_read_only(exit, seen)]
    renew_at = (
        backup.links_expire_at - seen.backup_policy.links_valid_for / 7
        if backup.links_expire_at else None
    )
    requested = exit.metadata.annotations.get(REDELIVER)
    redeliver = requested is not None and requested != backup.redelivered_for
    if renew_at is None or seen.now >= renew_at or redeliver:
        actions.append(DeliverBackup(backup.manifest, backup.manifest_sha256))
    if redeliver and requested is not None:
        actions.append(RecordRedelivery(requested))
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
        return _mismatch(receipt.manifest_sha256, digest, accepted, seen.earlier_manifest)
    if not accepted:
        not_before = seen.now + parse_go_duration(exit.spec.deletion.grace_period)
        return [
            *_cover_grace(exit, not_before + seen.backup_policy.retention_margin),
            RecordReceipt(seen.now, receipt.confirmed_by, not_before),
            _confirmed(receipt.confirmed_by, digest),
            _grace(exit, not_before.isoformat()),
        ]
    deletion = exit.status.deletion
    assert deletion is not None and deletion.not_before is not None
    # Re-asserted on every pass: a corrected digest after a mismatch flips it back.
    recorded = exit.status.receipt
    assert recorded is not None
    confirmed = _confirmed(recorded.confirmed_by or receipt.confirmed_by, digest)
    if seen.now < deletion.not_before:
        return [confirmed, _grace(exit, deletion.not_before.isoformat())]
    unproven = restore_hold(exit)  # on the recorded level, never the live spec
    if unproven is not None:
        return [confirmed, *unproven]
    missing = guard_missing(seen, "entering Deleting")  # re-checked before the last step
    if missing is not None:
        return missing
    return [
        confirmed,
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


def _cover_grace(exit: TenantExit, until: datetime) -> list[Action]:
    """With Object Lock, the archive must outlive the grace period that starts now: the
    retention set at upload covered the expected receipt window only. Executed before
    the receipt is recorded, so a failure leaves the receipt unaccepted (and retried)."""
    retention = exit.status.backup.retention if exit.status.backup else None
    if retention is None or retention.retain_until >= until:
        return []
    return [ExtendRetention(until)]


def _mismatch(quoted: str, digest: str, accepted: bool,
              earlier: str | None = None) -> list[Action]:
    """ReceiptConfirmed=False and Ready=False; never Stalled, never ClearReceipt.
    A digest of an earlier attempt's or exit's manifest (issue 10: a re-applied old
    receipt) has its own reason."""
    reason = c.RECEIPT_DIGEST_MISMATCH
    message = (
        f"spec.receipt.manifestSha256 {quoted} does not match this backup's manifest "
        f"digest {digest}: nothing will be deleted while it does. Quote "
        "status.backup.manifestSha256 exactly"
    )
    if earlier is not None:
        reason = c.RECEIPT_EARLIER_BACKUP
        message = (
            f"spec.receipt.manifestSha256 {quoted} is the digest of an earlier backup "
            f"({earlier}), not of this exit's current backup {digest}: nothing will be "
            "deleted while it is quoted. The customer must confirm receipt of the current "
            "backup"
        )
    if accepted:
        message += (
            "; the receipt accepted earlier stays on record and its grace period resumes "
            "once the digest is right again (remove spec.receipt to cancel the deletion)"
        )
    return [
        SetCondition(c.RECEIPT_CONFIRMED, ConditionStatus.FALSE, reason, message),
        SetCondition(c.READY, ConditionStatus.FALSE, reason, message),
    ]


def _confirmed(confirmed_by: str, digest: str) -> SetCondition:
    return SetCondition(
        c.RECEIPT_CONFIRMED, ConditionStatus.TRUE, c.RECEIPT_CONFIRMED_REASON,
        f"Receipt confirmed by {confirmed_by} for manifest {digest}",
    )


def _grace(exit: TenantExit, not_before: str) -> SetCondition:
    return SetCondition(
        c.READY, ConditionStatus.TRUE, c.GRACE_PERIOD,
        f"Namespace {exit.spec.tenant_namespace} will be deleted irreversibly at {not_before}; "
        "remove spec.receipt before then to cancel",
    )
