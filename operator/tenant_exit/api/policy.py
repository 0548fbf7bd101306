"""The effective policy of an exit: its class's defaults and limits, recorded once.

When an exit is first taken on, the operator resolves its TenantExitClass (the
named one, or the default class) into an `ExitPolicy` and records it in
`status.policy`. From then on the exit runs on that record, never on the live
class: a class edited while an exit runs changes nothing in it (as
`status.terms` freezes the backed-up terms from BackupRunning on).

The spec wins over the policy's defaults wherever the user set a field; the
policy's limits are checked against the spec on every pass (`violations`), so an
edit that loosens a limit is refused even on a cluster without the admission
policy. Everything here is pure.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field

from tenant_exit.api.base import ApiModel
from tenant_exit.api.exclusions import DEFAULT_DOCUMENT_EXCLUDES, DEFAULT_EXCLUDE_TABLES
from tenant_exit.api.exit_class import (
    RESTORE_STRENGTH,
    RestoreVerificationMode,
    TenantExitClass,
)
from tenant_exit.api.restore import RestoreMode
from tenant_exit.api.spec import (
    DatabaseReadOnlyMode,
    Language,
    ReadOnly,
    S3Destination,
    TenantExitSpec,
    UploadCredentials,
    Verification,
)
from tenant_exit.api.types import is_post_quantum, parse_go_duration

BUILT_IN_GRACE_PERIOD = "72h"


class ExitPolicy(ApiModel):
    """The class terms this exit runs under, recorded when the operator took it on."""

    class_name: str | None = None
    """The TenantExitClass they came from; empty when no class applied (built-in
    defaults)."""
    class_uid: str | None = None
    """UID of that class when it was read."""
    class_generation: Annotated[int, Field(ge=0)] | None = None
    """metadata.generation of that class when it was read."""
    grace_period: str = BUILT_IN_GRACE_PERIOD
    """Default spec.deletion.gracePeriod."""
    minimum_grace_period: str | None = None
    """The shortest spec.deletion.gracePeriod allowed."""
    customer_language: Language = Language.EN
    """Default spec.customer.language."""
    exclude_tables: list[str] = list(DEFAULT_EXCLUDE_TABLES)
    """Default spec.database.excludeTables."""
    exclude_paths: list[str] = list(DEFAULT_DOCUMENT_EXCLUDES)
    """Default spec.documents[].exclude."""
    destination: S3Destination | None = None
    """Default spec.destination.s3."""
    credential_namespaces: list[str] | None = None
    """Namespaces the S3 credentials may come from (within the operator's own list)."""
    allow_platform_keys: bool = True
    """spec.destination.s3.uploadCredentials PlatformKeys is allowed. A class allows it
    only when it says so (allowPlatformKeys); without a class, and in terms recorded
    before a class could forbid it, it stays allowed as it was."""
    write_freeze: DatabaseReadOnlyMode | None = None
    """Default (and, unless None, least) spec.readOnly.database."""
    restore_verification: RestoreVerificationMode | None = None
    """Least (and default) spec.verification.restore."""
    download_link_lifetime: str | None = None
    """Validity of the presigned download links (Go duration)."""
    require_post_quantum: bool = False
    """Every age recipient must be post-quantum (age1pq1...)."""

    @property
    def link_lifetime(self) -> timedelta | None:
        return parse_go_duration(self.download_link_lifetime) if self.download_link_lifetime \
            else None


def built_in_policy() -> ExitPolicy:
    """The policy of an exit no class applies to: the spec's documented defaults."""
    return ExitPolicy()


def policy_from_class(exit_class: TenantExitClass) -> ExitPolicy:
    """The class's terms as this exit will keep them."""
    spec = exit_class.spec
    base = built_in_policy()
    exclusions, deletion = spec.exclusions, spec.deletion
    return ExitPolicy(
        class_name=exit_class.metadata.name,
        class_uid=exit_class.metadata.uid or None,
        class_generation=exit_class.metadata.generation or None,
        grace_period=_default_grace(deletion.default_grace_period if deletion else None,
                                    deletion.minimum_grace_period if deletion else None),
        minimum_grace_period=deletion.minimum_grace_period if deletion else None,
        customer_language=spec.customer_language or base.customer_language,
        exclude_tables=(list(exclusions.tables) if exclusions and exclusions.tables is not None
                        else base.exclude_tables),
        exclude_paths=(list(exclusions.paths) if exclusions and exclusions.paths is not None
                       else base.exclude_paths),
        destination=spec.destination,
        credential_namespaces=(list(spec.allowed_credential_namespaces)
                               if spec.allowed_credential_namespaces else None),
        allow_platform_keys=spec.allow_platform_keys,
        write_freeze=spec.write_freeze,
        restore_verification=spec.verification.restore if spec.verification else None,
        download_link_lifetime=spec.download_link_lifetime,
        require_post_quantum=bool(spec.encryption and spec.encryption.require_post_quantum),
    )


def choose_class(class_name: str | None, classes: list[TenantExitClass]
                 ) -> tuple[TenantExitClass | None, str | None]:
    """(the class an exit gets, or None; a problem that stops it, or None).

    Named: that class, or a problem (it may not exist yet: a GitOps sync can create
    the exit before the class). Unnamed: the one default class, none when there is
    none, a problem when several claim to be the default (StorageClass picks the
    newest; an exit's limits should not depend on such a tie)."""
    if class_name is not None:
        for exit_class in classes:
            if exit_class.metadata.name == class_name:
                return exit_class, None
        return None, (f"TenantExitClass {class_name} (spec.className) does not exist; "
                      "waiting for it")
    defaults = sorted(c.metadata.name for c in classes if c.is_default)
    if len(defaults) > 1:
        return None, (f"several TenantExitClasses are marked default ({', '.join(defaults)}); "
                      "name one in spec.className or unmark all but one")
    found = [c for c in classes if c.is_default]
    return (found[0] if found else None), None


def apply_policy(spec: TenantExitSpec, policy: ExitPolicy) -> TenantExitSpec:
    """The spec with the policy's defaults in every field the user left unset."""
    update: dict[str, object] = {}
    if "customer" not in spec.model_fields_set or \
            "language" not in spec.customer.model_fields_set:
        update["customer"] = spec.customer.model_copy(
            update={"language": policy.customer_language})
    if "deletion" not in spec.model_fields_set or \
            "grace_period" not in spec.deletion.model_fields_set:
        update["deletion"] = spec.deletion.model_copy(update={"grace_period": policy.grace_period})
    if "exclude_tables" not in spec.database.model_fields_set:
        update["database"] = spec.database.model_copy(
            update={"exclude_tables": list(policy.exclude_tables)})
    update["documents"] = [
        d if "exclude" in d.model_fields_set
        else d.model_copy(update={"exclude": list(policy.exclude_paths)})
        for d in spec.documents
    ]
    if spec.destination is not None and spec.destination.s3 is None \
            and policy.destination is not None:
        update["destination"] = spec.destination.model_copy(update={"s3": policy.destination})
    if policy.write_freeze is not None:
        if spec.read_only is None:
            # No licence period: the freeze holds from the start until the deletion.
            update["read_only"] = ReadOnly(database=policy.write_freeze)
        elif "database" not in spec.read_only.model_fields_set:
            update["read_only"] = spec.read_only.model_copy(
                update={"database": policy.write_freeze})
    # The class's restore level is the exit's default; an exit may only ask for more.
    if policy.restore_verification is not None and (
            spec.verification is None or spec.verification.restore is None):
        chosen = RestoreMode(policy.restore_verification.value)
        update["verification"] = (spec.verification or Verification()).model_copy(
            update={"restore": chosen})
    return spec.model_copy(update=update)


def violations(spec: TenantExitSpec, policy: ExitPolicy) -> list[str]:
    """Where the (effective) spec loosens a limit of its policy; one sentence each.
    The operator's own limits (its credential namespaces, a missing destination) are
    the phases' to report, as for an exit without a class."""
    of = (f"TenantExitClass {policy.class_name}" if policy.class_name
          else "the recorded status.policy")
    found: list[str] = []
    if policy.minimum_grace_period and _shorter(spec.deletion.grace_period,
                                                policy.minimum_grace_period):
        found.append(f"spec.deletion.gracePeriod {spec.deletion.grace_period} is shorter than "
                     f"the minimum {policy.minimum_grace_period} of {of}")
    if policy.write_freeze not in (None, DatabaseReadOnlyMode.NONE) and \
            spec.read_only is not None and spec.read_only.database is DatabaseReadOnlyMode.NONE:
        assert policy.write_freeze is not None
        found.append(f"spec.readOnly.database None does not freeze writes; {of} requires "
                     f"{policy.write_freeze.value}")
    destination = spec.destination
    if destination is not None and destination.s3 is not None \
            and policy.credential_namespaces is not None:
        namespace = destination.s3.credentials_secret.namespace
        if namespace not in policy.credential_namespaces:
            found.append(f"spec.destination.s3.credentialsSecret is in namespace {namespace}; "
                         f"{of} allows credentials only from: "
                         f"{', '.join(policy.credential_namespaces)}")
    if not policy.allow_platform_keys and destination is not None \
            and destination.s3 is not None \
            and destination.s3.upload_credentials is UploadCredentials.PLATFORM_KEYS:
        found.append(f"spec.destination.s3.uploadCredentials PlatformKeys is not allowed by "
                     f"{of} (allowPlatformKeys is not true): it would put a copy of the "
                     "platform keys, usually bucket-wide, in the tenant namespace; use "
                     "Scoped, the default")
    if policy.require_post_quantum and destination is not None and not all(
            is_post_quantum(r) for r in destination.encryption.age_recipients):
        found.append(f"{of} requires post-quantum recipients: every "
                     "spec.destination.encryption.ageRecipients entry must be an age1pq1... "
                     "key (age-keygen -pq)")
    asked = spec.verification.restore if spec.verification is not None else None
    if asked is not None and restore_too_weak(RestoreVerificationMode(asked.value), policy):
        assert policy.restore_verification is not None
        found.append(f"spec.verification.restore {asked.value} is weaker than "
                     f"{policy.restore_verification.value}, the least {of} allows")
    return found


def restore_too_weak(asked: RestoreVerificationMode, policy: ExitPolicy) -> bool:
    """spec.verification.restore asks for less proof than the class's least."""
    least = policy.restore_verification
    return least is not None and RESTORE_STRENGTH[asked] < RESTORE_STRENGTH[least]


def allowed_credential_namespaces(policy: ExitPolicy | None,
                                  operator_namespaces: tuple[str, ...]) -> tuple[str, ...]:
    """The operator's list, narrowed to the class's (never widened by it)."""
    if policy is None or policy.credential_namespaces is None:
        return operator_namespaces
    return tuple(n for n in operator_namespaces if n in policy.credential_namespaces)


def _default_grace(default: str | None, minimum: str | None) -> str:
    """The class's default; else the built-in one, raised to the class's minimum."""
    if default:
        return default
    if minimum and _shorter(BUILT_IN_GRACE_PERIOD, minimum):
        return minimum
    return BUILT_IN_GRACE_PERIOD


def _shorter(value: str, than: str) -> bool:
    return parse_go_duration(value) < parse_go_duration(than)
