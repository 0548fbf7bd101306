"""The ValidatingAdmissionPolicy that guards a tenant Namespace during its exit.

A finalizer on a Namespace does not stop the namespace controller from deleting
everything inside it, so the DELETE itself is refused while the namespace is
labelled `tenantexit.io/deletion=blocked`. The guard labels, the phase
annotation and the finalizer may be changed only by the operator's identity.
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
                    }
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


def render_guard_policy_yaml(operator_user: str = DEFAULT_OPERATOR_USER) -> str:
    header = (
        "# Generated by `tenant-exit crd --guard-policy` from tenant_exit/api/admission.py;\n"
        f"# lets only {operator_user} change a guarded namespace. Do not edit.\n"
    )
    return header + yaml.safe_dump_all(namespace_guard_policy(operator_user), sort_keys=False)
