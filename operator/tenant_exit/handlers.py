"""kopf wiring only: every handler validates, then hands one pass to `reconcile`.

- create/resume/update(spec) react at once; a timer re-runs the pass every
  `resync_seconds` (waiting for readOnly.until, re-applying drifted guards).
- The timer and the change handlers may fire together; a per-exit lock makes
  the passes of one exit sequential inside this process. Across processes kopf
  peering keeps one replica active (peering is not leader election: give
  standby replicas a lower priority).
- Handlers return None: kopf would store a return value in the status.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import kopf
from pydantic import ValidationError

from tenant_exit.api import names
from tenant_exit.api.conditions import STALLED, find
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus
from tenant_exit.extraction_handlers import SERVED as EXTRACTION_SERVED
from tenant_exit.kopf_persistence import Served, persistence
from tenant_exit.reconcile.backup_store import signing
from tenant_exit.reconcile.context import Context
from tenant_exit.reconcile.failures import ADAPTER_FAILURE_REASONS, ExitError
from tenant_exit.reconcile.passes import DeletionHeld, cancel, reconcile
from tenant_exit.settings import OperatorSettings

SETTINGS = OperatorSettings()
# Literal, for the RBAC derivation that reads the decorators (tests/support/api_usage.py).
RESOURCE = (names.GROUP, names.VERSION, names.PLURAL)
TENANT_EXITS = Served(names.GROUP, names.VERSION, names.PLURAL, names.KIND,
                      finalizer=names.EXIT_FINALIZER, storage_prefix=names.GROUP)
SERVED = (TENANT_EXITS, *EXTRACTION_SERVED)
"""Every resource this operator's handlers serve, with its own kopf persistence."""

_context: Context | None = None
_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
_locks_guard = threading.Lock()


def context() -> Context:
    global _context
    if _context is None:
        connected = Context.connect(SETTINGS)
        # Started by the first startup handler that asks: passes find it listed.
        _context = connected.watching(wait_seconds=30) if SETTINGS.watch_cache else connected
    return _context


@contextmanager
def one_pass_at_a_time(uid: str) -> Iterator[None]:
    with _locks_guard:
        lock = _locks[uid]
    with lock:
        yield


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    persistence(settings, SERVED)
    settings.posting.level = 30  # our own Events tell the story; kopf posts only warnings
    settings.peering.priority = SETTINGS.priority
    settings.execution.max_workers = 8
    # The operator serves only its own CRD, which the chart installs before the
    # operator starts (Helm's crds/): watching every CRD at run time would need
    # cluster-wide list/watch on customresourcedefinitions for nothing. A CRD
    # added later is served after a restart.
    settings.scanning.disabled = True


@kopf.on.startup()
def prepare_signing_key(**_: Any) -> None:
    """The Ed25519 key that signs manifests and certificates: created on first
    start, so its public key can be published before any exit needs it."""
    signing(context())


@kopf.on.create(*RESOURCE)
@kopf.on.resume(*RESOURCE)
@kopf.on.update(*RESOURCE, field="spec")
def handle_change(body: kopf.Body, uid: str, retry: int, memo: kopf.Memo, **_: Any) -> None:
    _run_pass(body, uid, retry, memo)


def _not_deleted(status: kopf.Status, **_: Any) -> bool:
    """A Deleted exit is the audit record: nothing left to do, and no handler
    matching it means kopf drops its finalizer, so users may remove the record
    even when the operator is gone."""
    return bool(status.get("phase") != "Deleted")


@kopf.timer(*RESOURCE, interval=SETTINGS.resync_seconds, initial_delay=SETTINGS.resync_seconds,
            when=_not_deleted)
def handle_resync(body: kopf.Body, uid: str, meta: kopf.Meta, memo: kopf.Memo, **_: Any) -> None:
    if meta.get("deletionTimestamp"):
        return
    if not tick_needed(memo.get("passed"), time.monotonic(), SETTINGS.resync_seconds):
        return
    # A permanent failure waits for a spec change (or a restart), retried only
    # every retry_max_seconds in case the fix was outside the spec (a Secret).
    now = time.monotonic()
    recently = now - memo.get("tried", 0.0) < SETTINGS.retry_max_seconds
    if recently and _stalled_on_failure(_valid(body)):
        return
    memo["tried"] = now
    _run_pass(body, uid, 0, memo)


@kopf.on.delete(*RESOURCE, when=_not_deleted)
def handle_delete(body: kopf.Body, uid: str, retry: int, **_: Any) -> None:
    with one_pass_at_a_time(uid):
        try:
            cancel(_valid(body), context())
        except DeletionHeld as held:
            raise kopf.TemporaryError(str(held), delay=SETTINGS.resync_seconds) from None
        except ExitError as error:
            raise kopf.TemporaryError(str(error), delay=SETTINGS.retry_delay(retry)) from None


def _run_pass(body: kopf.Body, uid: str, retry: int, memo: kopf.Memo) -> None:
    # Validated inside the lock: a timer's body is kopf's live view, so a pass
    # that waited for the previous one sees the status that pass wrote.
    with one_pass_at_a_time(uid):
        memo["passed"] = time.monotonic()
        try:
            reconcile(_valid(body), context())
        except ExitError as error:
            if error.permanent:
                raise kopf.PermanentError(str(error)) from None
            raise kopf.TemporaryError(str(error), delay=SETTINGS.retry_delay(retry)) from None


def _valid(body: kopf.Body) -> TenantExit:
    """The boundary: a body the models reject is a permanent error, not a crash loop."""
    try:
        return TenantExit.from_body(body)
    except ValidationError as error:
        raise kopf.PermanentError(f"TenantExit does not validate: {error}") from None


def tick_needed(last_pass: float | None, now: float, interval: float) -> bool:
    """A resync tick is skipped when a pass ran within half an interval (a change, or
    the create/resume pass after a restart): it would add nothing. After a restart of
    1,000 exits the first ticks otherwise queue behind, and double, the resume passes
    (issue 15). The longest gap between two passes is 1.5 intervals."""
    return last_pass is None or now - last_pass >= interval / 2


def _stalled_on_failure(exit: TenantExit) -> bool:
    """Stalled by a permanent adapter failure for the current generation."""
    stalled = find(exit.status.conditions, STALLED)
    return (
        stalled is not None
        and stalled.status is ConditionStatus.TRUE
        and stalled.observed_generation == exit.metadata.generation
        and stalled.reason in ADAPTER_FAILURE_REASONS
    )
