"""The two passes the handlers run: reconcile (move the exit on) and cancel."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from kubernetes.client.exceptions import ApiException

from tenant_exit import metrics
from tenant_exit.api import conditions as c
from tenant_exit.api.policy import ExitPolicy
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus, Phase, TenantExitStatus
from tenant_exit.kube.cache import NotCached
from tenant_exit.kube.events import post_event
from tenant_exit.kube.exits import patch_status, read_exit
from tenant_exit.kube.secrets import SecretProblem
from tenant_exit.phases import actions as a
from tenant_exit.phases.events import WARNING, transition_events
from tenant_exit.phases.machine import decide, decide_cancel
from tenant_exit.phases.observed import Observed
from tenant_exit.phases.status_update import fold
from tenant_exit.reconcile.admitted import admitted
from tenant_exit.reconcile.context import Context
from tenant_exit.reconcile.execute import execute
from tenant_exit.reconcile.failures import ExitError, classify_observation
from tenant_exit.reconcile.observe import observe

log = logging.getLogger(__name__)


class DeletionHeld(Exception):
    """The TenantExit may not go yet; retry later (message is for the user)."""


_QUIET_PHASES = {Phase.READ_ONLY_LICENSED, Phase.BACKUP_RUNNING, Phase.AWAITING_RECEIPT}
"""Where a pass may end without a read: a new exit is always admitted, and a
Deleting one surveys what is left of the tenant on every pass anyway."""


def reconcile(exit: TenantExit, ctx: Context) -> None:
    """Observe, decide, act, publish. Raises ExitError after publishing a failure.

    A pass first asks the watch cache (ctx.cache) whether anything needs doing; if
    nothing does, it ends there, with no API request. Otherwise it starts again from
    the stored exit and fresh reads of everything, and acts on those: the cache
    only ever decides that nothing is to be done, never what to do or to what."""
    # The event that triggered this pass may predate the last pass's status patch;
    # decisions (the attempt number, the phase) must start from the stored status.
    stored: TenantExit | None = None
    if not ctx.versions.current(exit):
        stored = _stored(exit, ctx)
        if stored is None:
            return
        exit = stored
    now = datetime.now(UTC)
    if nothing_to_do(exit, ctx, now):
        return
    latest = stored or _stored(exit, ctx)
    if latest is None:
        return
    exit = latest
    failure: ExitError | None = None
    try:
        exit, recorded = admitted(exit, ctx)
        ctx = ctx.for_exit(exit.status.policy or _recorded(recorded))
        decided = decide(exit, observe_or_fail(exit, ctx, now))
        facts = execute(exit, a.side_effects(decided), ctx)
        changes = recorded + a.status_actions(decided) + facts
    except ExitError as error:
        failure = error
        changes = failed(error)
    status = fold(exit.status, changes, generation=exit.metadata.generation, now=now)
    publish(exit, status, ctx)
    metrics.EXITS.passed(exit.name, exit.status, status, changes)
    if failure is not None:
        metrics.EXITS.failed(failure.reason)
        raise failure


def _stored(exit: TenantExit, ctx: Context) -> TenantExit | None:
    """The exit as stored now; None when it is gone or is another one by now."""
    latest = read_exit(ctx.custom, exit.name)
    if latest is None or latest.metadata.uid != exit.metadata.uid:
        if latest is None:
            metrics.EXITS.forget(exit.name)
            ctx.versions.forget(exit.metadata.uid)
        return None
    ctx.versions.saw(latest.metadata.uid, latest.metadata.resource_version)
    return latest


def nothing_to_do(exit: TenantExit, ctx: Context, now: datetime) -> bool:
    """The pass from the watch cache finds no action and no status change. False
    whenever the cache cannot tell: the full pass then decides."""
    if ctx.cache is None or exit.status.phase not in _QUIET_PHASES:
        return False
    try:
        exit, recorded = admitted(exit, ctx)
        if recorded:
            return False
        seen = observe(exit, ctx.for_exit(exit.status.policy), now, cached=True)
    except (ExitError, NotCached, SecretProblem, ApiException):
        return False
    decided = decide(exit, seen)
    if a.side_effects(decided):
        return False
    status = fold(exit.status, a.status_actions(decided), generation=exit.metadata.generation,
                  now=now)
    if status != exit.status:
        return False
    metrics.EXITS.passed(exit.name, exit.status, status)
    return True


def _recorded(changes: list[a.StatusAction]) -> ExitPolicy | None:
    return next((x.policy for x in changes if isinstance(x, a.RecordPolicy)), None)


def observe_or_fail(exit: TenantExit, ctx: Context, now: datetime) -> Observed:
    """Observing reads Secrets and the API too (e.g. the destination's keys to verify
    a backup): its failures become a condition like an action's, not a traceback."""
    try:
        return observe(exit, ctx, now)
    except (SecretProblem, ApiException) as error:
        raise classify_observation(exit.name, error) from None


def failed(error: ExitError) -> list[a.StatusAction]:
    changes: list[a.StatusAction] = [
        a.SetCondition(c.READY, ConditionStatus.FALSE, error.reason, error.message)
    ]
    if error.permanent:
        changes.append(a.SetCondition(c.STALLED, ConditionStatus.TRUE, error.reason, error.message))
    return changes


def publish(exit: TenantExit, status: TenantExitStatus, ctx: Context) -> None:
    """Patch the status if it changed and post one Event per transition."""
    if status == exit.status:
        return
    ctx.versions.saw(exit.metadata.uid, patch_status(ctx.custom, exit, status))
    for event in transition_events(exit.status, status):
        post_event(
            ctx.core, ctx.settings.events_namespace, exit.owner, event.type, event.reason,
            event.message,
        )


def cancel(exit: TenantExit, ctx: Context) -> None:
    """Revert everything the exit changed. From Deleting on, drive the deletion on
    instead (the timer stops for a TenantExit being deleted) and raise DeletionHeld
    until the certificate is written and the phase is Deleted (issue 10, scenario 6:
    an Argo CD prune or `kubectl delete` in Deleting must not wedge the exit)."""
    # A cancel acts on what the exit did, under the terms it recorded (an exit never
    # taken on has none and did nothing a class could change).
    ctx = ctx.for_exit(exit.status.policy)
    decided = decide_cancel(exit, observe(exit, ctx, datetime.now(UTC)))
    held = [x for x in decided if isinstance(x, a.HoldDeletion)]
    if held:
        reconcile(exit, ctx)
        latest = read_exit(ctx.custom, exit.name)
        if latest is not None and latest.status.phase is not Phase.DELETED:
            raise DeletionHeld(held[0].message)
        return
    try:
        execute(exit, a.side_effects(decided), ctx)
    except ExitError as error:
        metrics.EXITS.failed(error.reason)
        post_event(ctx.core, ctx.settings.events_namespace, exit.owner, WARNING, error.reason,
                   str(error))
        raise
    # The revert record is not deleted here: kopf may run this handler again before
    # the finalizer is gone, and a re-run that found no record would take it for a
    # lost one and wedge the cancel. Its keys are already forgotten; the garbage
    # collector removes the Secret with its owner, the TenantExit.
    metrics.EXITS.forget(exit.name)
    if a.side_effects(decided):
        message = (
            f"Exit of {exit.spec.tenant_namespace} cancelled: read-only lifted, "
            "guards removed, reclaim policies restored"
        )
        post_event(ctx.core, ctx.settings.events_namespace, exit.owner, "Normal", c.CANCELLED,
                   message)
        log.info("%s", message)
