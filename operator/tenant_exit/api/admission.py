"""The ValidatingAdmissionPolicy that guards a tenant Namespace during its exit.

A finalizer on a Namespace does not stop the namespace controller from deleting
everything inside it, so the DELETE itself is refused while the namespace is
labelled `tenantexit.io/deletion=blocked`. The guard labels, the phase
annotation and the finalizer may be changed only by the operator's identity, also
through the `status` and `finalize` subresources (both can write metadata).
Only the Namespace DELETE is guarded, never objects inside a terminating
namespace: that would wedge it (docs/architecture.md, "Known traps").

`crds/namespace-guard-policy.yaml` is rendered with the chart's default identity;
the chart renders its own with `namespace_guard_policy(<its ServiceAccount>)`.
"""

from __future__ import annotations

from typing import Any

import yaml

from tenant_exit.api import names

POLICY_NAME = "tenantexit-namespace-guard"
DEFAULT_OPERATOR_USER = "system:serviceaccount:tenant-exit-system:tenant-exit-operator"


def _label(obj: str, key: str) -> str:
    return (
        f"({obj} != null && has({obj}.metadata.labels) && '{key}' in {obj}.metadata.labels"
        f" ? {obj}.metadata.labels['{key}'] : '')"
    )


def _annotation(obj: str, key: str) -> str:
    return (
        f"({obj} != null && has({obj}.metadata.annotations)"
        f" && '{key}' in {obj}.metadata.annotations"
        f" ? {obj}.metadata.annotations['{key}'] : '')"
    )


def _has_finalizer(obj: str) -> str:
    return (
        f"({obj} != null && has({obj}.metadata.finalizers)"
        f" && '{names.NAMESPACE_FINALIZER}' in {obj}.metadata.finalizers)"
    )


def _guarded(obj: str) -> str:
    return f"{_label(obj, names.LABEL_EXIT)} != ''"


def namespace_guard_policy(operator_user: str = DEFAULT_OPERATOR_USER) -> list[dict[str, Any]]:
    """The policy and its binding; `operator_user` is the only identity let through."""
    who = (
        "'namespace ' + oldObject.metadata.name + ' holds the data of TenantExit '"
        " + variables.exit + ' (phase ' + variables.phase + ')'"
    )
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY_NAME},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["DELETE", "UPDATE"],
                        "resources": ["namespaces"],
                    },
                    # The labels and our finalizer can be written through these
                    # subresources too (issue 10, scenario 9); the same checks apply.
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["UPDATE"],
                        "resources": ["namespaces/status", "namespaces/finalize"],
                    },
                ]
            },
            "matchConditions": [
                {
                    "name": "not-the-operator",
                    "expression": f"request.userInfo.username != '{operator_user}'",
                },
                {
                    "name": "guarded-namespace",
                    "expression": f"{_guarded('oldObject')} || {_guarded('object')}",
                },
            ],
            "variables": [
                {"name": "exit", "expression": _label("oldObject", names.LABEL_EXIT)},
                {"name": "phase", "expression": _annotation("oldObject", names.ANNOTATION_PHASE)},
            ],
            "validations": [
                {
                    "expression": (
                        "request.operation != 'DELETE' || "
                        f"{_label('oldObject', names.LABEL_DELETION)} != "
                        f"'{names.DELETION_BLOCKED}'"
                    ),
                    "messageExpression": (
                        f"{who} + ': it cannot be deleted before the customer confirmed "
                        "receipt of the backup'"
                    ),
                    "reason": "Forbidden",
                },
                {
                    "expression": (
                        "request.operation != 'UPDATE' || ("
                        f"{_label('oldObject', names.LABEL_EXIT)} == "
                        f"{_label('object', names.LABEL_EXIT)} && "
                        f"{_label('oldObject', names.LABEL_DELETION)} == "
                        f"{_label('object', names.LABEL_DELETION)} && "
                        f"{_annotation('oldObject', names.ANNOTATION_PHASE)} == "
                        f"{_annotation('object', names.ANNOTATION_PHASE)})"
                    ),
                    "messageExpression": (
                        f"'the {names.GROUP} labels and annotations of ' + {who} + "
                        "' are managed by the tenant-exit operator only'"
                    ),
                    "reason": "Forbidden",
                },
                {
                    "expression": (
                        "request.operation != 'UPDATE' || "
                        f"!{_has_finalizer('oldObject')} || {_has_finalizer('object')}"
                    ),
                    "messageExpression": (
                        f"'the finalizer {names.NAMESPACE_FINALIZER} of ' + {who} + "
                        "' is removed by the tenant-exit operator only'"
                    ),
                    "reason": "Forbidden",
                },
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY_NAME},
        "spec": {"policyName": POLICY_NAME, "validationActions": ["Deny"]},
    }
    return [policy, binding]


# --- the TenantExit's own guard (issue 10) ---------------------------------------
# From BackupRunning on the status is a trust anchor (phase, recorded terms,
# notBefore) and the spec's backed-up terms are frozen. A CRD validation rule could
# freeze the spec too, but it cannot tell who writes the status: this policy can.
EXIT_POLICY_NAME = "tenantexit-terms-guard"
FROZEN_PHASES = ("BackupRunning", "AwaitingReceipt", "Deleting", "Deleted")


def _spec_field(obj: str, path: str, default: str) -> str:
    """`obj.spec.<path>` or `default` when a part of the path is absent."""
    parts = path.split(".")
    checks = " && ".join(f"has({obj}.spec.{'.'.join(parts[:i + 1])})" for i in range(len(parts)))
    return f"({checks} ? {obj}.spec.{path} : {default})"


# (path under spec, its value when absent): what a backup was taken under.
FROZEN_FIELDS = (
    ("database.host", "''"),
    ("database.port", "0"),
    ("database.databases", "[]"),
    ("database.excludeTables", "[]"),
    ("documents", "[]"),
    ("destination.s3.bucket", "''"),
    ("destination.s3.prefix", "''"),
    ("destination.encryption.ageRecipients", "[]"),
)


def exit_terms_policy(operator_user: str = DEFAULT_OPERATOR_USER) -> list[dict[str, Any]]:
    """Only `operator_user` writes tenantexits/status; nobody edits the backed-up terms
    once the exit is in BackupRunning or later. DELETE is not matched: a cancel (before
    Deleting) stays possible, and from Deleting on the operator completes first."""
    frozen = " && ".join(
        f"{_spec_field('object', path, default)} == {_spec_field('oldObject', path, default)}"
        for path, default in FROZEN_FIELDS
    )
    fields = ", ".join(f"spec.{path}" for path, _ in FROZEN_FIELDS)
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": EXIT_POLICY_NAME},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [names.GROUP],
                        "apiVersions": ["*"],
                        "operations": ["UPDATE"],
                        "resources": [names.PLURAL, f"{names.PLURAL}/status"],
                    }
                ]
            },
            "matchConditions": [
                {
                    "name": "not-the-operator",
                    "expression": f"request.userInfo.username != '{operator_user}'",
                },
            ],
            "variables": [
                # request.subResource is absent, not '', on the main resource.
                {
                    "name": "status",
                    "expression": "has(request.subResource) && request.subResource == 'status'",
                },
                {
                    "name": "phase",
                    "expression": (
                        "has(oldObject.status) && has(oldObject.status.phase)"
                        " ? oldObject.status.phase : ''"
                    ),
                },
                # The level recorded with the backed-up terms ('' before the backup
                # began), and the spec's before and after ('' when it names none).
                {
                    "name": "recordedRestore",
                    "expression": (
                        "has(oldObject.status) && has(oldObject.status.terms) && "
                        "has(oldObject.status.terms.restoreVerification) ? "
                        "oldObject.status.terms.restoreVerification : ''"
                    ),
                },
                {"name": "oldRestore",
                 "expression": _spec_field("oldObject", "verification.restore", "''")},
                {"name": "newRestore",
                 "expression": _spec_field("object", "verification.restore", "''")},
            ],
            "validations": [
                {
                    "expression": "!variables.status",
                    "messageExpression": (
                        "'the status of TenantExit ' + oldObject.metadata.name + ' is written by "
                        "the tenant-exit operator only: it holds the phase, the backed-up terms "
                        "and the deletion time the operator acts on'"
                    ),
                    "reason": "Forbidden",
                },
                {
                    "expression": (
                        "variables.status || !(variables.phase in "
                        f"{list(FROZEN_PHASES)}) || ({frozen})"
                    ),
                    "messageExpression": (
                        "'TenantExit ' + oldObject.metadata.name + ' is in phase ' + "
                        "variables.phase + ': its backup was taken under the terms in "
                        f"status.terms, so {fields} cannot change any more (deletion drops "
                        "exactly what the backup holds). To exit under other terms, delete "
                        "this TenantExit before Deleting (a cancel) and create a new one'"
                    ),
                    "reason": "Forbidden",
                },
                {
                    # Any change but naming the recorded level: a weaker one would let
                    # an archive never test-loaded through to the deletion, and even a
                    # removal may loosen it (to a weaker platform default). The gate
                    # into Deleting decides on the recorded level whatever the spec says.
                    "expression": (
                        "variables.status || variables.recordedRestore == '' || "
                        "variables.newRestore == variables.oldRestore || "
                        "variables.newRestore == variables.recordedRestore"
                    ),
                    "messageExpression": (
                        "'TenantExit ' + oldObject.metadata.name + ' began its backup under "
                        "restore verification ' + variables.recordedRestore + ' (status.terms."
                        "restoreVerification), and the step into Deleting is decided on the "
                        "proof that level asks for: spec.verification.restore cannot ' + "
                        "(variables.newRestore == '' ? 'be removed' : 'become ' + "
                        "variables.newRestore) + ' any more. To exit under another level, "
                        "delete this TenantExit before Deleting (a cancel) and create a new one'"
                    ),
                    "reason": "Forbidden",
                },
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": EXIT_POLICY_NAME},
        "spec": {"policyName": EXIT_POLICY_NAME, "validationActions": ["Deny"]},
    }
    return [policy, binding]


def guard_policies(operator_user: str = DEFAULT_OPERATOR_USER) -> list[dict[str, Any]]:
    """Every admission policy and binding the exit relies on."""
    return namespace_guard_policy(operator_user) + exit_terms_policy(operator_user)


def render_guard_policy_yaml(operator_user: str = DEFAULT_OPERATOR_USER) -> str:
    header = (
        "# Generated by `tenant-exit crd --guard-policy` from tenant_exit/api/admission.py;\n"
        f"# lets only {operator_user} change a guarded namespace or a TenantExit's status,\n"
        "# and freezes a TenantExit's backed-up terms from BackupRunning on. Do not edit.\n"
    )
    return header + yaml.safe_dump_all(guard_policies(operator_user), sort_keys=False)
