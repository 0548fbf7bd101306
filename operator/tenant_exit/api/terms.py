"""The backed-up terms of an exit: taken from the spec when the backup starts,
then frozen in status (docs/security.md, "Invariants"). Pure."""

from __future__ import annotations

from tenant_exit.api import names
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.restore import RestoreMode
from tenant_exit.api.spec import Database, Destination, DocumentVolume, restore_mode
from tenant_exit.api.status import BackupTerms


def terms_from_spec(exit: TenantExit, restore_default: RestoreMode) -> BackupTerms:
    """What the spec says now; only called before the terms are recorded.
    `restore_default`: the platform's level (settings.restore_mode), in force when
    the spec names none."""
    spec = exit.spec
    assert spec.destination is not None, "terms are taken only with a destination"
    s3 = spec.destination.store
    return BackupTerms(
        exit_uid=exit.metadata.uid,
        host=spec.database.host,
        port=spec.database.port,
        schemas=list(spec.database.databases),
        claims=[d.claim_name for d in spec.documents],
        recipients=list(spec.destination.encryption.age_recipients),
        bucket=s3.bucket,
        prefix=s3.prefix,
        exclude_tables=list(spec.database.exclude_tables),
        exit_folder=names.exit_folder(s3.prefix, exit.name, exit.metadata.uid),
        restore_verification=restore_mode(spec, restore_default),
    )


def backup_terms(exit: TenantExit) -> BackupTerms:
    """The recorded terms, or (before BackupRunning recorded them) the spec's. Its
    callers read the server, schemas and destination; the level is `restore_level`'s."""
    return exit.status.terms or terms_from_spec(exit, RestoreMode.REQUIRED)


def restore_level(exit: TenantExit, restore_default: RestoreMode) -> RestoreMode:
    """The restore verification level a backup attempt runs under: the recorded one
    once the backup began (a later edit of the spec or of the platform's default
    changes nothing), before that the spec's, else `restore_default`."""
    terms = exit.status.terms
    if terms is not None and terms.restore_verification is not None:
        return terms.restore_verification
    return restore_mode(exit.spec, restore_default)


def recorded_restore_level(exit: TenantExit) -> RestoreMode | None:
    """The level the step into Deleting is decided on: the recorded one; None when
    none is recorded (terms from before the level was one of them, or no terms)."""
    terms = exit.status.terms
    return terms.restore_verification if terms is not None else None


def changed_terms(exit: TenantExit) -> list[str]:
    """Spec fields that differ from the recorded terms (empty before they are recorded).
    The TenantExit admission policy refuses such edits; this catches a cluster without it."""
    recorded = exit.status.terms
    if recorded is None or exit.spec.destination is None:
        return [] if recorded is None else ["spec.destination"]
    live = terms_from_spec(exit, RestoreMode.REQUIRED)  # the level is compared below
    fields = {
        "host": "spec.database.host", "port": "spec.database.port",
        "schemas": "spec.database.databases", "claims": "spec.documents",
        "recipients": "spec.destination.encryption.ageRecipients",
        "bucket": "spec.destination.s3.bucket", "prefix": "spec.destination.s3.prefix",
        "exclude_tables": "spec.database.excludeTables",
    }
    changed = [path for attr, path in fields.items()
               if getattr(live, attr) != getattr(recorded, attr)]
    # Only a level the spec names: a changed platform default applies to exits that
    # have not begun their backup, by design, and is no edit of this exit.
    asked = exit.spec.verification.restore if exit.spec.verification is not None else None
    if recorded.restore_verification is not None and asked is not None \
            and asked != recorded.restore_verification:
        changed.append("spec.verification.restore")
    return changed


def frozen_spec(exit: TenantExit) -> tuple[Database, list[DocumentVolume], Destination]:
    """The spec's database, documents and destination with the recorded terms in
    place of the live values: what every backup attempt dumps and where it writes."""
    terms = backup_terms(exit)
    spec = exit.spec
    assert spec.destination is not None, "a backup is built only with a destination"
    database = spec.database.model_copy(update={
        "host": terms.host, "port": terms.port, "databases": list(terms.schemas),
        "exclude_tables": list(terms.exclude_tables)})
    documents = [d for d in spec.documents if d.claim_name in terms.claims]
    destination = spec.destination.model_copy(update={
        "s3": spec.destination.store.model_copy(update={"bucket": terms.bucket,
                                                     "prefix": terms.prefix}),
        "encryption": spec.destination.encryption.model_copy(update={
            "age_recipients": list(terms.recipients)}),
    })
    return database, documents, destination
