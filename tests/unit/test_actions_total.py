"""Every side-effect action has a failure reason and an executor arm.

mypy checks both (`action.reason` in failures.classify, `assert_never` in
execute._run); these tests say the same without a type checker, and also catch
an action dataclass that was never added to the `SideEffect` union (which the
type checker cannot see).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from typing import get_args

import pytest

from tenant_exit.api import conditions as c
from tenant_exit.phases import actions as a
from tenant_exit.reconcile import execute
from tenant_exit.reconcile.failures import classify

SIDE_EFFECTS = get_args(a.SideEffect)
REASONS = {value for name, value in vars(c).items() if name.isupper() and isinstance(value, str)}


def _executor_arms() -> set[str]:
    """Class names matched by `case a.<Name>(...)` in execute._run."""
    tree = ast.parse(inspect.getsource(execute._run))
    return {
        node.cls.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.MatchClass) and isinstance(node.cls, ast.Attribute)
    }


def test_every_action_dataclass_is_in_one_union() -> None:
    declared = {
        obj for obj in vars(a).values()
        if inspect.isclass(obj) and dataclasses.is_dataclass(obj) and obj.__module__ == a.__name__
    }
    grouped = set(SIDE_EFFECTS) | set(get_args(a.StatusAction)) | {a.HoldDeletion}
    assert declared - grouped == set(), "add the action to SideEffect or StatusAction"


@pytest.mark.parametrize("action", SIDE_EFFECTS, ids=lambda cls: cls.__name__)
def test_every_side_effect_has_a_failure_reason(action: type) -> None:
    reason = action.__dict__.get("reason")
    assert reason in REASONS, f"{action.__name__} needs `reason: ClassVar[str] = c.<REASON>`"


@pytest.mark.parametrize("action", SIDE_EFFECTS, ids=lambda cls: cls.__name__)
def test_every_side_effect_has_an_executor_arm(action: type) -> None:
    assert action.__name__ in _executor_arms(), f"execute._run has no arm for {action.__name__}"


def test_the_executor_has_no_arm_for_a_non_action() -> None:
    assert _executor_arms() == {cls.__name__ for cls in SIDE_EFFECTS}


def test_a_failure_is_reported_under_the_actions_reason() -> None:
    failure = classify(a.DropDatabases(("ons",)), "zorg", RuntimeError("boom"))
    assert (failure.reason, failure.permanent) == (c.DELETION_FAILED, False)
    assert failure.message == "TenantExit zorg: DropDatabases failed: RuntimeError"
