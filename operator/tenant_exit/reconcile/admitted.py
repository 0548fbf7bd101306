"""The exit under its class's terms: resolved once, then read from status.policy.

The first pass over a new exit reads the TenantExitClasses, picks the exit's
(spec.className, else the default class), and returns the policy to record; every
later pass (and every reader, through `TenantExit.from_body`) uses the record, so
a class edited or deleted while the exit runs changes nothing in it. An exit that
already had a phase before classes existed gets the built-in policy (no lookup: a
default class created later must not change a running exit either).
"""

from __future__ import annotations

from tenant_exit.api import conditions as c
from tenant_exit.api.policy import (
    ExitPolicy,
    built_in_policy,
    choose_class,
    policy_from_class,
    violations,
)
from tenant_exit.api.resource import TenantExit
from tenant_exit.kube.exit_classes import list_classes
from tenant_exit.phases import actions as a
from tenant_exit.reconcile.context import Context
from tenant_exit.reconcile.failures import ExitError


def admitted(exit: TenantExit, ctx: Context) -> tuple[TenantExit, list[a.StatusAction]]:
    """(the exit with its policy's defaults, the RecordPolicy to fold in, if new).
    Raises ExitError when the class is missing or the spec loosens one of its limits."""
    record: list[a.StatusAction] = []
    policy = exit.status.policy
    if policy is None:
        policy = resolve(exit, ctx)
        exit = exit.under(policy)
        record.append(a.RecordPolicy(policy))
    problems = violations(exit.spec, policy)
    if problems:
        raise ExitError(c.CLASS_LIMITS_EXCEEDED,
                        f"TenantExit {exit.name} refused: " + "; ".join(problems),
                        permanent=True)
    return exit, record


def resolve(exit: TenantExit, ctx: Context) -> ExitPolicy:
    if exit.status.phase is not None:
        return built_in_policy()
    chosen, problem = choose_class(exit.spec.class_name, list_classes(ctx.custom))
    if problem is not None:
        raise ExitError(c.CLASS_NOT_FOUND, f"TenantExit {exit.name}: {problem}", permanent=False)
    return built_in_policy() if chosen is None else policy_from_class(chosen)
