"""What an exit's status means for a person (pure): the next step and who must act."""

from __future__ import annotations

from typing import Any

PHASES: dict[str, tuple[str, str]] = {
    "ReadOnlyLicensed": (
        "The tenant can read but not change its data; the backup starts when "
        "spec.readOnly.until has passed.", "nobody (the operator waits for the licence to end)"),
    "BackupRunning": (
        "The backup Job dumps the database and documents, encrypted to the customer's age "
        "keys; the operator then verifies every object and signs the manifest.",
        "nobody (the operator; watch for BackupJobFailed events)"),
    "AwaitingReceipt": (
        "The backup is verified and delivered. The customer downloads, verifies the "
        "signature and digests, decrypts, checks the plaintext digests and confirms receipt "
        "by quoting the manifest SHA-256. After the receipt the deletion waits until "
        "status.deletion.notBefore; withdraw-receipt before then stops it.",
        "the customer, then the platform engineer: kubectl tenantexit confirm-receipt NAME "
        "--manifest-sha256 D --by WHO"),
    "Deleting": (
        "The irreversible step: the tenant namespace, its volumes and (if configured) the "
        "database schemas are being deleted; it cannot be stopped any more.",
        "nobody (the operator)"),
    "Deleted": (
        "Everything is gone; the signed certificate of destruction is beside the backup.",
        "the platform engineer: send the customer the certificate (kubectl tenantexit "
        "certificate NAME)"),
}


def next_step(exit: dict[str, Any]) -> tuple[str, str]:
    """(what happens next, who must act) for the exit's phase and conditions."""
    status = exit.get("status") or {}
    stalled = [c for c in status.get("conditions", [])
               if c.get("type") == "Stalled" and c.get("status") == "True"]
    if stalled:
        return (f"Stalled: {stalled[0].get('message', '')}",
                "the platform engineer (fix the cause named above)")
    phase = status.get("phase")
    if phase is None:
        return ("The operator has not taken up the exit yet.",
                "nobody (check that the operator runs)")
    return PHASES.get(phase, ("Unknown phase.", "the platform engineer"))
