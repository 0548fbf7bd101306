"""Which kopf bodies a pass may trust as current (kube/exits.Versions)."""

from __future__ import annotations

from tenant_exit.api.resource import TenantExit
from tenant_exit.kube.exits import Versions
from tests.support.exits import example_spec


def _exit(uid: str, version: str) -> TenantExit:
    return TenantExit.from_body({"metadata": {"name": "x", "uid": uid,
                                              "resourceVersion": version},
                                 "spec": example_spec()})


def test_a_body_is_current_until_this_process_saw_another_version() -> None:
    versions = Versions()
    assert versions.current(_exit("u1", "10")), "nothing seen yet: kopf's body is the latest"
    versions.saw("u1", "12")  # the status patch of a pass
    assert not versions.current(_exit("u1", "10")), "the body predates our own patch"
    assert not versions.current(_exit("u1", "13")), "versions are not ordered: read again"
    assert versions.current(_exit("u1", "12"))
    assert versions.current(_exit("u2", "10")), "another exit's record does not apply"
    versions.forget("u1")
    assert versions.current(_exit("u1", "10"))


def test_an_unknown_version_is_not_recorded() -> None:
    versions = Versions()
    versions.saw("u1", "12")
    versions.saw("u1", "")  # a patch answer without metadata
    assert versions.current(_exit("u1", "12"))
