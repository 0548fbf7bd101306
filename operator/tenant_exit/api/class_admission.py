"""The ValidatingAdmissionPolicy that holds a TenantExit to its class's limits.

`kubectl apply` of an exit that asks for less than its class allows (a shorter
grace period than the minimum, no write freeze where the class requires one,
credentials from a namespace the class does not allow, the platform's keys in
the tenant namespace (uploadCredentials PlatformKeys) where the class does not
allow them, classical keys where the class requires post-quantum ones, weaker
restore verification) is refused with a message naming the class and the limit.

The policy's param is a TenantExitClass. A binding cannot pick the param by a
field of the object, so it selects every class (`paramRef.selector: {}`) and the
policy is evaluated once per class: each evaluation applies only when that class
is the exit's (named in spec.className, or the default class for an exit naming
none). With no class at all nothing is checked (`parameterNotFoundAction:
Allow`). Once the operator recorded the exit's terms (status.policy), edits are
checked against that record instead of the live class, so a class edited later
neither loosens nor tightens a running exit. Only spec changes are checked:
kopf's finalizer and annotation patches must never be refused.

The operator checks the same limits itself (api/policy.py, `violations`), so a
cluster without this policy refuses the exit with a Stalled condition instead.
`crds/class-limits-policy.yaml` is generated from here; the chart renders it too.
"""

from __future__ import annotations

from typing import Any

import yaml

from tenant_exit.api import exit_class, names

POLICY_NAME = "tenantexit-class-limits"
_RECORDED = "oldObject.status.policy"


def _annotation_true(obj: str, key: str) -> str:
    return (f"(has({obj}.metadata.annotations) && '{key}' in {obj}.metadata.annotations"
            f" && {obj}.metadata.annotations['{key}'] == 'true')")


def _limit(recorded: str, from_class: str, absent: str) -> str:
    """The limit from the record when there is one, else from this class if it applies.
    `recorded`/`from_class` are paths below status.policy / params.spec."""
    def guarded(root: str, path: str) -> str:
        parts = path.split(".")
        checks = " && ".join(f"has({root}.{'.'.join(parts[:i + 1])})" for i in range(len(parts)))
        return f"({checks} ? {root}.{path} : {absent})"

    return (f"variables.recorded ? {guarded(_RECORDED, recorded)} : "
            f"(variables.applies ? {guarded('params.spec', from_class)} : {absent})")


def class_limits_policy() -> list[dict[str, Any]]:
    """The policy and its binding."""
    variables = [
        {"name": "recorded", "expression": (
            "request.operation == 'UPDATE' && has(oldObject.status) && "
            f"has({_RECORDED})")},
        {"name": "applies", "expression": (
            "has(object.spec.className) ? object.spec.className == params.metadata.name : "
            + _annotation_true("params", exit_class.DEFAULT_CLASS_ANNOTATION))},
        {"name": "source", "expression": (
            "variables.recorded ? 'the terms recorded in its status.policy' : "
            "'TenantExitClass ' + params.metadata.name")},
        {"name": "minimumGrace", "expression": _limit(
            "minimumGracePeriod", "deletion.minimumGracePeriod", "''")},
        {"name": "freeze", "expression": _limit("writeFreeze", "writeFreeze", "''")},
        {"name": "postQuantum", "expression": _limit(
            "requirePostQuantum", "encryption.requirePostQuantum", "false")},
        {"name": "restore", "expression": _limit(
            "restoreVerification", "verification.restore", "''")},
        # Unlike the other limits, a class that says nothing forbids (secure by default);
        # a record without the field predates it, when every class allowed the keys.
        {"name": "platformKeys", "expression": (
            f"variables.recorded ? (!has({_RECORDED}.allowPlatformKeys) || "
            f"{_RECORDED}.allowPlatformKeys) : (!variables.applies || "
            "(has(params.spec.allowPlatformKeys) && params.spec.allowPlatformKeys))")},
        {"name": "credentials", "expression": (
            "!has(object.spec.destination) || !has(object.spec.destination.s3) ? '' : "
            "object.spec.destination.s3.credentialsSecret.namespace")},
    ]
    allowed = (
        "variables.credentials == '' || (variables.recorded ? "
        f"(!has({_RECORDED}.credentialNamespaces) || "
        f"variables.credentials in {_RECORDED}.credentialNamespaces) : "
        "(!variables.applies || !has(params.spec.allowedCredentialNamespaces) || "
        "size(params.spec.allowedCredentialNamespaces) == 0 || "
        "variables.credentials in params.spec.allowedCredentialNamespaces))"
    )
    strength = "{'Off': 0, 'BestEffort': 1, 'Required': 2}"
    validations = [
        {
            "expression": (
                "variables.minimumGrace == '' || !has(object.spec.deletion) || "
                "!has(object.spec.deletion.gracePeriod) || "
                "duration(object.spec.deletion.gracePeriod) >= duration(variables.minimumGrace)"),
            "messageExpression": (
                "'spec.deletion.gracePeriod ' + object.spec.deletion.gracePeriod + ' is shorter "
                "than the minimum ' + variables.minimumGrace + ' of ' + variables.source + "
                "': the customer must have at least that long to withdraw the receipt; set "
                "spec.deletion.gracePeriod to ' + variables.minimumGrace + ' or more, or leave "
                "it out to get the class default'"),
            "reason": "Invalid",
        },
        {
            "expression": (
                "variables.freeze == '' || variables.freeze == 'None' || "
                "!has(object.spec.readOnly) || !has(object.spec.readOnly.database) || "
                "object.spec.readOnly.database != 'None'"),
            "messageExpression": (
                "'spec.readOnly.database None would let the tenant write during the backup; ' + "
                "variables.source + ' requires ' + variables.freeze + ' (leave it out to get it)'"),
            "reason": "Invalid",
        },
        {
            "expression": allowed,
            "messageExpression": (
                "'spec.destination.s3.credentialsSecret is in namespace ' + "
                "variables.credentials + ', which ' + variables.source + ' does not allow "
                "credentials from; use its allowed namespaces or leave spec.destination.s3 out "
                "to use the class destination'"),
            "reason": "Invalid",
        },
        {
            "expression": (
                "variables.platformKeys || !has(object.spec.destination) || "
                "!has(object.spec.destination.s3) || "
                "!has(object.spec.destination.s3.uploadCredentials) || "
                "object.spec.destination.s3.uploadCredentials != 'PlatformKeys'"),
            "messageExpression": (
                "'spec.destination.s3.uploadCredentials PlatformKeys is not allowed by ' + "
                "variables.source + ' (allowPlatformKeys is not true): it would put a copy of "
                "the platform keys, usually bucket-wide, in the tenant namespace; use Scoped, "
                "the default'"),
            "reason": "Invalid",
        },
        {
            "expression": (
                "!variables.postQuantum || !has(object.spec.destination) || "
                "object.spec.destination.encryption.ageRecipients.all(r, "
                "r.startsWith('age1pq1'))"),
            "messageExpression": (
                "variables.source + ' requires post-quantum recipients: every "
                "spec.destination.encryption.ageRecipients entry must be an age1pq1... key "
                "(the customer makes one with age-keygen -pq)'"),
            "reason": "Invalid",
        },
        {
            # Merge point (issue 13): spec.verification.restore. Absent here means the
            # class's level applies, so only an explicit weaker value is refused.
            "expression": (
                "variables.restore == '' || !has(object.spec.verification) || "
                "!has(object.spec.verification.restore) || "
                f"{strength}[object.spec.verification.restore] >= {strength}[variables.restore]"),
            "messageExpression": (
                "'spec.verification.restore ' + object.spec.verification.restore + ' is weaker "
                "than ' + variables.restore + ', the least ' + variables.source + ' allows'"),
            "reason": "Invalid",
        },
    ]
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY_NAME},
        "spec": {
            "failurePolicy": "Fail",
            "paramKind": {"apiVersion": names.API_VERSION, "kind": exit_class.KIND},
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [names.GROUP],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": [names.PLURAL],
                    }
                ]
            },
            "matchConditions": [
                {
                    "name": "spec-changed",
                    "expression": "request.operation == 'CREATE' || object.spec != oldObject.spec",
                },
            ],
            "variables": variables,
            "validations": validations,
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY_NAME},
        "spec": {
            "policyName": POLICY_NAME,
            "validationActions": ["Deny"],
            "paramRef": {"selector": {}, "parameterNotFoundAction": "Allow"},
        },
    }
    return [policy, binding]


def render_class_policy_yaml() -> str:
    header = (
        "# Generated by `tenant-exit crd --class-policy` from tenant_exit/api/class_admission.py;\n"
        "# refuses a TenantExit that loosens the limits of its TenantExitClass. Do not edit.\n"
    )
    return header + yaml.safe_dump_all(class_limits_policy(), sort_keys=False, width=100)
