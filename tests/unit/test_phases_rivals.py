"""One exit per namespace: the first TenantExit (creation time, then name) wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenant_exit.api.resource import TenantExit
from tenant_exit.phases.guards import protected_reason, rivals
from tests.support.exits import body, example_spec, make_exit

T0 = datetime(2027, 1, 1, tzinfo=UTC)


def exit_at(name: str, minutes: int, namespace: str = "tenant-a", **extra: Any) -> TenantExit:
    data = body(name=name, spec=example_spec(namespace), created=T0 + timedelta(minutes=minutes))
    data["metadata"].update(extra.pop("metadata", {}))
    data["status"] = extra.pop("status", {})
    return TenantExit.from_body(data)


ME = exit_at("me", 10)


@pytest.mark.parametrize(
    ("others", "expected"),
    [
        pytest.param([exit_at("older", 5)], ("older",), id="older-wins"),
        pytest.param([exit_at("newer", 15)], (), id="newer-loses"),
        pytest.param([exit_at("a-same-time", 10)], ("a-same-time",), id="tie-by-name"),
        pytest.param([exit_at("z-same-time", 10)], (), id="tie-by-name-later"),
        pytest.param([exit_at("other-ns", 5, "tenant-b")], (), id="other-namespace"),
        pytest.param(
            [exit_at("going", 5, metadata={"deletionTimestamp": T0.isoformat()})],
            (),
            id="being-deleted",
        ),
        pytest.param([exit_at("done", 5, status={"phase": "Deleted"})], (), id="deleted-record"),
        pytest.param([ME], (), id="itself"),
    ],
)
def test_rivals(others: list[TenantExit], expected: tuple[str, ...]) -> None:
    assert rivals(ME, others) == expected


@pytest.mark.parametrize(
    ("namespace", "refused"),
    [
        ("default", True),
        ("kube-system", True),
        ("kube-public", True),
        ("tenant-exit-system", True),
        ("tenant-a", False),
        ("kubeflow", False),
    ],
)
def test_protected_namespaces(namespace: str, refused: bool) -> None:
    assert (protected_reason(namespace, "tenant-exit-system") is not None) is refused


def test_a_new_exit_without_creation_time_sorts_last() -> None:
    fresh = make_exit(name="fresh", spec=example_spec("tenant-a"))
    assert rivals(fresh, [exit_at("older", 5)]) == ("older",)
