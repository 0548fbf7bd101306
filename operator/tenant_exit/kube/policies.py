"""Are the admission policies the exit relies on installed, bound and unaltered?

Without the namespace guard, a namespace DELETE empties the tenant before any
receipt; without the terms guard, anyone who may patch a TenantExit's status can
set `phase: Deleting`. The chart may be installed with `namespaceGuard.enabled:
false`, or a policy edited later; the operator checks before it advances past
ReadOnlyLicensed and again before Deleting (condition GuardMissing).

A live object is intact when everything the generated policy sets is there with
the same value (the API server adds defaults, which are ignored) and the binding
is not narrowed. The identity let through must be the operator's own, learnt from
a SelfSubjectReview.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tenant_exit.api.admission import guard_policies


def contains(live: Any, wanted: Any) -> bool:
    """`live` has every field of `wanted` with an equal value (pure; lists elementwise)."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(
            key in live and contains(live[key], value) for key, value in wanted.items())
    if isinstance(wanted, list):
        return (isinstance(live, list) and len(live) == len(wanted)
                and all(contains(x, y) for x, y in zip(live, wanted, strict=True)))
    return bool(live == wanted)


def narrowed(binding_spec: dict[str, Any]) -> bool:
    """A binding that selects fewer namespaces or objects than all (pure)."""
    match = binding_spec.get("matchResources") or {}
    selectors = [match.get("namespaceSelector") or {}, match.get("objectSelector") or {}]
    return (any(s.get("matchLabels") or s.get("matchExpressions") for s in selectors)
            or bool(match.get("resourceRules")) or bool(match.get("excludeResourceRules"))
            or bool(binding_spec.get("paramRef")))


def problems(expected: list[dict[str, Any]], live: dict[str, dict[str, Any] | None]
             ) -> list[str]:
    """What is missing or altered, one sentence each (pure). `live` by `kind/name`."""
    found = []
    for doc in expected:
        what = f"{doc['kind']} {doc['metadata']['name']}"
        got = live.get(f"{doc['kind']}/{doc['metadata']['name']}")
        if got is None:
            found.append(f"{what} is missing")
        elif not contains(got.get("spec"), doc["spec"]):
            found.append(f"{what} differs from the one the operator ships")
        elif doc["kind"].endswith("Binding") and narrowed(got.get("spec") or {}):
            found.append(f"{what} is narrowed to some namespaces or objects")
    return found


_identities: WeakKeyDictionary[client.ApiClient, str] = WeakKeyDictionary()


def own_identity(api: client.ApiClient) -> str:
    """The operator's user name, asked once per API client: a process's credentials
    (its ServiceAccount) name the same user for its whole life."""
    known = _identities.get(api)
    if known is None:
        review = client.AuthenticationV1Api(api).create_self_subject_review(
            client.V1SelfSubjectReview())
        known = _identities[api] = str(review.status.user_info.username)
    return known


def guard_problems(api: client.ApiClient) -> list[str]:
    expected = guard_policies(own_identity(api))
    admission = client.AdmissionregistrationV1Api(api)
    readers = {
        "ValidatingAdmissionPolicy": admission.read_validating_admission_policy,
        "ValidatingAdmissionPolicyBinding": admission.read_validating_admission_policy_binding,
    }
    live: dict[str, dict[str, Any] | None] = {}
    for doc in expected:
        key = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            live[key] = api.sanitize_for_serialization(readers[doc["kind"]](
                doc["metadata"]["name"]))
        except ApiException as error:
            if error.status != 404:
                raise
            live[key] = None
    return problems(expected, live)
