"""kopf wiring for DataModel and TenantExtraction: validate the body, hand one
pass to `extraction.reconcile`. Loaded by `tenant-exit operator` beside
`handlers.py` (whose startup hook configures kopf for both).

- A DataModel is syntax-checked on create/resume/update.
- A TenantExtraction's pass runs on change and on a timer every
  `resync_seconds`: the timer is the scheduler (decide.py), so a run starts
  within one resync of its schedule time.
- No delete handler: the run Jobs and the copied credentials are owned by the
  TenantExtraction and garbage-collected with it, and its output is not ours.
  (kopf puts its finalizer on the object for the timer and removes it as soon
  as the object is deleted.)
"""

from __future__ import annotations

import threading
from typing import Any

import kopf
from pydantic import ValidationError

from tenant_exit.api import names
from tenant_exit.api.datamodel import DataModel
from tenant_exit.api.extraction import TenantExtraction
from tenant_exit.extraction.reconcile import check_datamodel, reconcile_extraction
from tenant_exit.kopf_persistence import Served
from tenant_exit.reconcile.context import Context
from tenant_exit.settings import OperatorSettings

SETTINGS = OperatorSettings()
# kopf 1.x keeps one finalizer per operator (kopf_persistence); its progress
# lives under each resource's own annotation prefix.
STORAGE_PREFIX = f"extraction.{names.GROUP}"
SERVED = (
    Served(names.GROUP, names.VERSION, names.DATAMODEL_PLURAL, "DataModel",
           finalizer=names.EXIT_FINALIZER, storage_prefix=STORAGE_PREFIX),
    Served(names.GROUP, names.VERSION, names.EXTRACTION_PLURAL, "TenantExtraction",
           finalizer=names.EXIT_FINALIZER, storage_prefix=STORAGE_PREFIX),
)
"""The extraction's resources, added to handlers.SERVED."""
_context: Context | None = None
_lock = threading.Lock()  # one extraction pass at a time in this process


def context() -> Context:
    global _context
    if _context is None:
        _context = Context.connect(SETTINGS)
    return _context


@kopf.on.create(names.GROUP, names.VERSION, names.DATAMODEL_PLURAL)
@kopf.on.resume(names.GROUP, names.VERSION, names.DATAMODEL_PLURAL)
@kopf.on.update(names.GROUP, names.VERSION, names.DATAMODEL_PLURAL, field="spec")
def handle_datamodel(body: kopf.Body, **_: Any) -> None:
    try:
        model = DataModel.from_body(body)
    except ValidationError as error:
        raise kopf.PermanentError(f"DataModel does not validate: {error}") from None
    check_datamodel(model, context())


@kopf.on.create(names.GROUP, names.VERSION, names.EXTRACTION_PLURAL)
@kopf.on.resume(names.GROUP, names.VERSION, names.EXTRACTION_PLURAL)
@kopf.on.update(names.GROUP, names.VERSION, names.EXTRACTION_PLURAL, field="spec")
def handle_extraction_change(body: kopf.Body, **_: Any) -> None:
    _pass(body)


@kopf.timer(names.GROUP, names.VERSION, names.EXTRACTION_PLURAL, interval=SETTINGS.resync_seconds,
            initial_delay=SETTINGS.resync_seconds)
def handle_extraction_timer(body: kopf.Body, meta: kopf.Meta, **_: Any) -> None:
    if not meta.get("deletionTimestamp"):
        _pass(body)


def _pass(body: kopf.Body) -> None:
    try:
        extraction = TenantExtraction.from_body(body)
    except ValidationError as error:
        raise kopf.PermanentError(f"TenantExtraction does not validate: {error}") from None
    with _lock:
        reconcile_extraction(extraction, context())
