"""Condition types, reasons, and the one pure setter that maintains them.

Types and reasons are constants here (like mariadb-operator's condition_types.go),
so a typo is an import error, not a condition `kubectl wait` never sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from tenant_exit.api import restore
from tenant_exit.api.status import Condition, ConditionStatus

# --- types ---------------------------------------------------------------
READY: Final = "Ready"
"""The exit is progressing normally (False while it waits on an error)."""
READ_ONLY_ENFORCED: Final = "ReadOnlyEnforced"
BACKUP_COMPLETE: Final = "BackupComplete"
RECEIPT_CONFIRMED: Final = "ReceiptConfirmed"
DELETED: Final = "Deleted"
STALLED: Final = "Stalled"
"""True when the exit cannot go on without a change of spec or of the cluster."""

POST_QUANTUM_ENCRYPTION: Final = "PostQuantumEncryption"
"""True when every recipient is post-quantum (age1pq1...); False (a Warning) when
the ciphertext relies on classical X25519 only."""

TERMS_DIFFER: Final = "TermsDiffer"
"""True while the spec differs from status.terms (issue 10; the terms admission
policy normally refuses such edits). The exit acts on the recorded terms."""

RESTORE_VERIFIED: Final = "RestoreVerified"
"""True when a scratch server in the backup Job's pod loaded the dump and every table
matched the source (issue 13); Unknown when the proof was impossible or is off;
False while an attempt failed the proof."""

ALL_TYPES: Final = (READY, READ_ONLY_ENFORCED, BACKUP_COMPLETE, RESTORE_VERIFIED,
                    RECEIPT_CONFIRMED, DELETED, STALLED, POST_QUANTUM_ENCRYPTION, TERMS_DIFFER)

# --- reasons -------------------------------------------------------------
PROGRESSING: Final = "Progressing"
PROTECTED_NAMESPACE: Final = "ProtectedNamespace"
NAMESPACE_CLAIMED: Final = "NamespaceClaimed"
NAMESPACE_NOT_FOUND: Final = "NamespaceNotFound"
GUARDS_FAILED: Final = "GuardsFailed"
WRITES_REVOKED: Final = "WritesRevoked"
SERVER_READ_ONLY: Final = "ServerReadOnly"
APP_FLAG_ONLY: Final = "AppFlagOnly"
NOT_REQUESTED: Final = "NotRequested"
READ_ONLY_FAILED: Final = "ReadOnlyFailed"
LICENCE_RUNNING: Final = "LicenceRunning"
WRITES_NOT_FROZEN: Final = "WritesNotFrozen"
"""The backup waits: the write freeze is not (yet) observed in force."""
FREEZE_NOT_ACKNOWLEDGED: Final = "FreezeNotAcknowledged"
"""readOnly.database: None without readOnly.writesNotFrozenAcknowledgement."""
DESTINATION_MISSING: Final = "DestinationMissing"
CREDENTIALS_NOT_ALLOWED: Final = "CredentialsNotAllowed"
BACKUP_JOB_CREATED: Final = "BackupJobCreated"
BACKUP_JOB_FAILED: Final = "BackupJobFailed"
BACKUP_START_FAILED: Final = "BackupStartFailed"
BACKUP_POD_PENDING: Final = "BackupPodPending"
CANCEL_FAILED: Final = "CancelFailed"
BACKUP_PENDING: Final = "BackupPending"
RECEIPT_PENDING: Final = "ReceiptPending"
NOT_DELETED: Final = "NotDeleted"
ALL_CLEAR: Final = "AllClear"
POST_QUANTUM_RECIPIENTS: Final = "PostQuantumRecipients"
CLASSICAL_RECIPIENTS_ONLY: Final = "ClassicalRecipientsOnly"
CANCELLED: Final = "Cancelled"
BACKUP_VERIFIED: Final = "BackupVerified"
BACKUP_VERIFYING: Final = "BackupVerifying"
VERIFY_START_FAILED: Final = "VerifyStartFailed"
BACKUP_INVALID: Final = "BackupInvalid"
BACKUP_ATTEMPTS_EXHAUSTED: Final = "BackupAttemptsExhausted"
BACKUP_RETRY_SCHEDULED: Final = "BackupRetryScheduled"
DELIVERY_FAILED: Final = "DeliveryFailed"
RECEIPT_CONFIRMED_REASON: Final = "DigestMatches"
RECEIPT_DIGEST_MISMATCH: Final = "ReceiptDigestMismatch"
RECEIPT_WITHDRAWN: Final = "ReceiptWithdrawn"
GRACE_PERIOD: Final = "GracePeriod"
DELETION_IN_PROGRESS: Final = "DeletionInProgress"
DELETION_FAILED: Final = "DeletionFailed"
DESTROYED: Final = "Destroyed"
OBSERVE_FAILED: Final = "ObserveFailed"
# identities, recorded terms and guards (issue 10)
TERMS_MATCH: Final = "TermsMatch"
NAMESPACE_REPLACED: Final = "NamespaceReplaced"
"""The tenant's namespace is gone or has another UID than the one the exit took."""
TERMS_CHANGED: Final = "TermsChanged"
"""The spec differs from the backed-up terms; the exit goes on with the recorded ones."""
GUARD_MISSING: Final = "GuardMissing"
"""The namespace guard admission policy or its binding is missing or altered."""
CLASS_NOT_FOUND: Final = "ClassNotFound"
"""spec.className names no TenantExitClass (yet), or several classes are the default."""
CLASS_LIMITS_EXCEEDED: Final = "ClassLimitsExceeded"
"""The spec loosens a limit of its TenantExitClass (or of the recorded status.policy)."""
RECEIPT_EARLIER_BACKUP: Final = "ReceiptQuotesEarlierBackup"
ARCHIVE_CHANGED: Final = "ArchiveChanged"
"""Re-read before the deletion, the receipted manifest or an object it lists is
gone, resized or replaced: nothing is deleted until a person restores it."""
ARCHIVE_UNREACHABLE: Final = "ArchiveUnreachable"
"""The backup store did not answer the re-read before the deletion; retried."""
RETENTION_FAILED: Final = "RetentionFailed"
"""The Object Lock retention of the backup could not be lengthened to cover the grace
period; the receipt is accepted only once it is."""
# restore verification (issue 13)
RESTORE_MATCHES: Final = "RestoreMatches"
"""Every table's rows and digest and every definition equal the source's."""
RESTORE_PENDING: Final = "RestorePending"
RESTORE_TOO_LARGE: Final = restore.TOO_LARGE
"""The source is larger than the scratch server's limit."""
RESTORE_NO_SCRATCH_IMAGE: Final = restore.NO_SCRATCH_IMAGE
"""No scratch image is configured for the source's family and version."""
RESTORE_OFF: Final = "Off"
"""spec.verification.restore is Off."""
RESTORE_LOAD_FAILED: Final = "RestoreLoadFailed"
RESTORE_MISMATCH: Final = "RestoreMismatch"
RESTORE_FAILED: Final = "RestoreFailed"
"""The scratch server could not be used (did not start, wrong release)."""
RESTORE_NOT_PROVEN: Final = "RestoreNotProven"
"""Held before Deleting: RestoreVerified does not meet the level recorded in
status.terms.restoreVerification."""
"""spec.receipt quotes the manifest of an earlier attempt or an earlier exit."""


def set_condition(
    conditions: Sequence[Condition],
    *,
    type: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    generation: int,
    now: datetime,
) -> list[Condition]:
    """Upsert the condition of `type`; lastTransitionTime moves only when status flips."""
    previous = find(conditions, type)
    changed_at = now
    if previous is not None and previous.status == status:
        changed_at = previous.last_transition_time
    updated = Condition(
        type=type,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=changed_at,
        observed_generation=generation,
    )
    result = [c for c in conditions if c.type != type]
    result.append(updated)
    return sorted(result, key=_order)


def find(conditions: Sequence[Condition], type: str) -> Condition | None:
    return next((c for c in conditions if c.type == type), None)


def is_true(conditions: Sequence[Condition], type: str) -> bool:
    found = find(conditions, type)
    return found is not None and found.status == ConditionStatus.TRUE


def _order(condition: Condition) -> int:
    """A stable order, so an unchanged list produces no status patch."""
    try:
        return ALL_TYPES.index(condition.type)
    except ValueError:
        return len(ALL_TYPES)
