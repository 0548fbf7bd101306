"""Whether a manifest found in the bucket belongs to the current terms (pure).

A manifest is adopted — reported again by a re-run worker, accepted by the
operator — only when it was written by this TenantExit (its UID, not its name:
a recreated exit of the same name must get a fresh backup) and for the terms
in force: the same schemas, document claims and age recipients. Names are
compared exactly; `ONS` and `ons` are different schemas on a case-sensitive server.
"""

from __future__ import annotations

from collections.abc import Iterable

from tenant_exit.storage.manifest import Manifest


def _listed(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def term_differences(manifest: Manifest, *, exit_uid: str, schemas: Iterable[str],
                     claims: Iterable[str], recipients: Iterable[str]) -> list[str]:
    """Why `manifest` is not a backup of these terms; empty when it is.

    `schemas` empty means "every non-system schema": then any set is accepted."""
    problems = []
    if manifest.exit_uid != exit_uid:
        problems.append(f"manifest was written by TenantExit UID {manifest.exit_uid or 'unknown'}"
                        f", not {exit_uid}")
    wanted = set(schemas)
    held = {s.name for s in manifest.database.schemas} if manifest.database else set()
    if wanted and held != wanted:
        problems.append(f"manifest holds schemas {_listed(held)}, the terms name {_listed(wanted)}")
    held_claims = {d.claim for d in manifest.documents}
    if held_claims != set(claims):
        problems.append(f"manifest holds document claims {_listed(held_claims)}, the terms name "
                        f"{_listed(claims)}")
    if set(manifest.encryption.recipients) != set(recipients):
        problems.append("manifest objects are encrypted to other age recipients than "
                        "spec.destination.encryption.ageRecipients")
    return problems
