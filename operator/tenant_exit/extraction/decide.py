"""When to run: pure decisions from the schedule and what was observed.

The operator launches each run's Job itself rather than through a CronJob:
- a run must not start while the pinned model version is missing or invalid,
  while the tenant is exiting or gone — conditions a CronJob cannot see;
- missed and overlapping runs are made explicit in status (`missedRuns`,
  `skippedRuns`) and Events, where a CronJob only logs them in its controller;
- the run's Job gets the model as validated (content hash in the manifest),
  not whatever a CronJob template held when it was last rendered.
The semantics are CronJob's, so platform engineers know them:
`concurrencyPolicy` Forbid/Replace, `startingDeadlineSeconds`, `suspend`, and
only the most recent due run is ever started (earlier ones count as missed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from croniter import croniter

from tenant_exit.api.datamodel import DataModel, ValidationResult
from tenant_exit.api.extraction import ConcurrencyPolicy, ExtractionState, TenantExtraction

# Bounds the walk over due times after a long outage: beyond this many, the
# count of missed runs is reported as at least this.
MAX_DUE_WALK = 1000
EXIT_STOPS_AT = ("Deleting", "Deleted")


class Blocker(StrEnum):
    """Why no run may start (also the condition reason)."""

    TENANT_GONE = "TenantGone"
    TENANT_EXITING = "TenantExiting"
    SUSPENDED = "Suspended"
    MODEL_NOT_FOUND = "ModelNotFound"
    MODEL_VERSION_MISMATCH = "ModelVersionMismatch"
    MODEL_INVALID = "ModelInvalid"


@dataclass(frozen=True)
class Observed:
    now: datetime
    model: DataModel | None
    namespace_exists: bool
    exit_phase: str | None
    """Phase of a TenantExit of the same tenant namespace, if any."""
    job_running: bool
    """The last run's Job exists and has not finished."""


@dataclass(frozen=True)
class Decision:
    state: ExtractionState
    blocker: Blocker | None
    blocker_message: str
    start_for: datetime | None
    """Start a run for this schedule time."""
    stop_running: bool
    """Replace: stop the running Job first."""
    missed: int
    skipped: int
    last_scheduled_at: datetime | None
    next_run_at: datetime | None


def due_times(schedule: str, zone: str, after: datetime, now: datetime) -> list[datetime]:
    """Schedule times in (after, now], oldest first, in `zone` (aware datetimes)."""
    tz = ZoneInfo(zone)
    it = croniter(schedule, after.astimezone(tz))
    found: list[datetime] = []
    while len(found) < MAX_DUE_WALK:
        moment: datetime = it.get_next(datetime)
        if moment > now:
            break
        found.append(moment)
    return found


def next_time(schedule: str, zone: str, now: datetime) -> datetime:
    moment: datetime = croniter(schedule, now.astimezone(ZoneInfo(zone))).get_next(datetime)
    return moment


def blocker_of(extraction: TenantExtraction, seen: Observed) -> tuple[Blocker, str] | None:
    spec = extraction.spec
    if not seen.namespace_exists:
        return Blocker.TENANT_GONE, (
            f"tenant namespace {spec.tenant_namespace} is gone: the extraction has ended; "
            "its published runs stay in the destination, owned by the care organisation")
    if seen.exit_phase in EXIT_STOPS_AT:
        return Blocker.TENANT_EXITING, (
            f"the TenantExit of {spec.tenant_namespace} is {seen.exit_phase}: no further runs")
    if spec.suspend:
        return Blocker.SUSPENDED, "spec.suspend is true"
    model = seen.model
    reference = spec.data_model
    if model is None:
        return Blocker.MODEL_NOT_FOUND, f"DataModel {reference.name} does not exist"
    if model.spec.version != reference.version:
        return Blocker.MODEL_VERSION_MISMATCH, (
            f"DataModel {reference.name} is at version {model.spec.version}, this extraction "
            f"pins {reference.version}: set spec.dataModel.version to adopt the new version")
    validation = model.status.validation
    if (validation is not None and validation.result == ValidationResult.INVALID
            and validation.version == model.spec.version):
        return Blocker.MODEL_INVALID, (
            f"DataModel {reference.name} {reference.version} is invalid: "
            + "; ".join(validation.messages[:5]))
    return None


def decide(extraction: TenantExtraction, seen: Observed) -> Decision:
    spec, status = extraction.spec, extraction.status
    now = seen.now
    base = status.last_scheduled_at or extraction.metadata.creation_timestamp or now
    due = due_times(spec.schedule, spec.time_zone, base, now)
    next_run = next_time(spec.schedule, spec.time_zone, now)
    blocked = blocker_of(extraction, seen)
    last = due[-1] if due else status.last_scheduled_at

    if blocked is not None:
        blocker, message = blocked
        state = (ExtractionState.ENDED if blocker == Blocker.TENANT_GONE else
                 ExtractionState.SUSPENDED if blocker in (Blocker.TENANT_EXITING,
                                                          Blocker.SUSPENDED)
                 else ExtractionState.ACTIVE)
        # Runs due while blocked are not made up later; a model problem counts them
        # as missed, a deliberate suspension (or the end) does not.
        missed = len(due) if state == ExtractionState.ACTIVE else 0
        return Decision(state=state, blocker=blocker, blocker_message=message, start_for=None,
                        stop_running=False, missed=missed, skipped=0, last_scheduled_at=last,
                        next_run_at=None if state != ExtractionState.ACTIVE else next_run)
    if not due:
        return Decision(state=ExtractionState.ACTIVE, blocker=None, blocker_message="",
                        start_for=None, stop_running=False, missed=0, skipped=0,
                        last_scheduled_at=status.last_scheduled_at, next_run_at=next_run)
    latest = due[-1]
    missed = len(due) - 1
    start: datetime | None = latest
    skipped = 0
    stop = False
    if now - latest > timedelta(seconds=spec.starting_deadline_seconds):
        missed += 1
        start = None
    elif seen.job_running:
        if spec.concurrency_policy == ConcurrencyPolicy.FORBID:
            skipped, start = 1, None
        else:
            stop = True
    return Decision(state=ExtractionState.ACTIVE, blocker=None, blocker_message="",
                    start_for=start, stop_running=stop, missed=missed, skipped=skipped,
                    last_scheduled_at=latest, next_run_at=next_run)
