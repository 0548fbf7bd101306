"""One pass over a TenantExtraction (and the DataModel's own check): observe,
fold the last run's outcome, validate when the terms changed, decide, act,
publish status. The handler file only hands bodies to these functions.

Who owns what: the extraction's output belongs to the care organisation's
destination (bucket/prefix of spec.destination), not to the TenantExit. An exit
of the tenant stops the extraction (no runs from Deleting on) and, once the
namespace is gone, marks it Ended; it never deletes extraction output, and the
extraction never holds up the exit.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client import models as k

from tenant_exit.api import names
from tenant_exit.api.conditions import set_condition
from tenant_exit.api.datamodel import (
    DataModel,
    DataModelStatus,
    Validation,
    ValidationResult,
    content_hash,
)
from tenant_exit.api.extraction import (
    RunResult,
    RunStatus,
    TableRows,
    TenantExtraction,
    TenantExtractionStatus,
)
from tenant_exit.api.status import Condition, ConditionStatus
from tenant_exit.extraction import jobs
from tenant_exit.extraction.decide import Blocker, Observed, decide
from tenant_exit.extraction.validate import check_syntax, validate_in_read_only_transaction
from tenant_exit.kube.errors import tolerate
from tenant_exit.kube.exits import merge_patch
from tenant_exit.kube.jobs import ensure_job, termination_message
from tenant_exit.kube.secrets import SecretProblem, database_credentials
from tenant_exit.mysql.connect import DatabaseUnavailable, connect
from tenant_exit.reconcile.context import Context

log = logging.getLogger(__name__)

READY = "Ready"
STALLED = "Stalled"
SCHEMA_DRIFT = "SchemaDrift"
EVENTS_NAMESPACE = "default"  # a cluster-scoped object's Events live there
_MODEL_BLOCKERS = (Blocker.MODEL_NOT_FOUND, Blocker.MODEL_VERSION_MISMATCH,
                   Blocker.MODEL_INVALID)


# --------------------------------------------------------------------------
# DataModel
# --------------------------------------------------------------------------

def check_datamodel(model: DataModel, ctx: Context) -> None:
    """Syntax-check every SELECT and publish version, hash and result."""
    now = datetime.now(UTC)
    report = check_syntax(model.spec)
    result = ValidationResult.VALID if report.ok else ValidationResult.INVALID
    validation = Validation(result=result, messages=report.problems[:200], validated_at=now,
                            version=model.spec.version)
    conditions = set_condition(
        model.status.conditions, type=READY,
        status=ConditionStatus.TRUE if report.ok else ConditionStatus.FALSE,
        reason="Valid" if report.ok else "Invalid",
        message="every table is one SELECT matching its contract" if report.ok
        else "; ".join(report.problems[:5]),
        generation=model.metadata.generation, now=now)
    status = DataModelStatus(observed_generation=model.metadata.generation,
                             version=model.spec.version, content_hash=content_hash(model.spec),
                             validation=validation, conditions=conditions)
    if _same(model.status, status):
        return
    ctx.custom.patch_cluster_custom_object_status(
        names.GROUP, names.VERSION, names.DATAMODEL_PLURAL, model.name,
        _status_patch(model.status, status))


# --------------------------------------------------------------------------
# TenantExtraction
# --------------------------------------------------------------------------

def reconcile_extraction(extraction: TenantExtraction, ctx: Context) -> None:
    now = datetime.now(UTC)
    namespace = ctx.settings.operator_namespace
    model = _read_model(ctx.custom, extraction.spec.data_model.name)
    status = extraction.status
    job = _read_job(ctx.batch, namespace, status.last_run.job) if status.last_run else None
    status = _fold_run(extraction, status, job, ctx, now)

    seen = Observed(now=now, model=model,
                    namespace_exists=_namespace_exists(ctx.core, extraction.spec.tenant_namespace),
                    exit_phase=_exit_phase(ctx.custom, extraction.spec.tenant_namespace),
                    job_running=job is not None and _finished(job) is None)
    stalled: tuple[str, str] | None = None
    pinned = model is not None and model.spec.version == extraction.spec.data_model.version
    if seen.namespace_exists and model is not None and pinned and _needs_validation(
            extraction, model, now, ctx.settings.retry_max_seconds):
        status, stalled = _validate_live(extraction, model, status, ctx, now)
    elif status.validation is not None and status.validation.result == ValidationResult.INVALID:
        stalled = ("ModelInvalidForTenant", "; ".join(status.validation.messages[:5]))

    decision = decide(extraction, seen)
    update: dict[str, Any] = {
        "state": decision.state, "next_run_at": decision.next_run_at,
        "last_scheduled_at": decision.last_scheduled_at,
        "missed_runs": status.missed_runs + decision.missed,
        "skipped_runs": status.skipped_runs + decision.skipped,
        "observed_generation": extraction.metadata.generation,
    }
    if model is not None and model.spec.version == extraction.spec.data_model.version:
        update.update(model_version=model.spec.version, model_hash=content_hash(model.spec))
    if decision.missed:
        jobs.post_event(ctx.core, EVENTS_NAMESPACE, extraction, "Warning", "RunsMissed",
                        f"{decision.missed} scheduled run(s) not started in time "
                        f"(startingDeadlineSeconds={extraction.spec.starting_deadline_seconds})")
    if decision.skipped:
        jobs.post_event(ctx.core, EVENTS_NAMESPACE, extraction, "Warning", "RunSkipped",
                        "a run was due while the previous one still ran (Forbid)")
    if decision.blocker in _MODEL_BLOCKERS:
        stalled = (decision.blocker.value, decision.blocker_message)
    if decision.start_for is not None and stalled is None and model is not None:
        if decision.stop_running and status.last_run is not None:
            jobs.delete_job(ctx.batch, namespace, status.last_run.job)
        try:
            jobs.copy_credentials(ctx.core, extraction, namespace)
        except SecretProblem as problem:
            stalled = ("SecretProblem", str(problem))
        else:
            job_body = jobs.build_run_job(extraction, model, decision.start_for, ctx.settings)
            ensure_job(ctx.batch, job_body)
            run = RunStatus(job=job_body.metadata.name, scheduled_at=decision.start_for,
                            started_at=now)
            update.update(last_run=run, runs=status.runs + 1)
            jobs.post_event(ctx.core, EVENTS_NAMESPACE, extraction, "Normal", "RunStarted",
                            f"run for {decision.start_for.isoformat()} started as Job "
                            f"{namespace}/{run.job}")
    status = status.model_copy(update=update)
    status = status.model_copy(update={"conditions": _conditions(
        extraction, status, decision.blocker, decision.blocker_message, stalled, now)})
    if not _same(extraction.status, status):
        ctx.custom.patch_cluster_custom_object_status(
            names.GROUP, names.VERSION, names.EXTRACTION_PLURAL, extraction.name,
            _status_patch(extraction.status, status))


def _conditions(extraction: TenantExtraction, status: TenantExtractionStatus,
                blocker: Blocker | None, blocker_message: str,
                stalled: tuple[str, str] | None, now: datetime) -> list[Condition]:
    generation = extraction.metadata.generation
    conditions = list(status.conditions)
    last = status.last_run
    if stalled is not None:
        ready = (ConditionStatus.FALSE, stalled[0], stalled[1])
    elif blocker is not None:
        ready = (ConditionStatus.FALSE, blocker.value, blocker_message)
    elif last is not None and last.result == RunResult.FAILED:
        ready = (ConditionStatus.FALSE, "RunFailed", last.message)
    elif last is not None and last.result == RunResult.SCHEMA_DRIFT:
        ready = (ConditionStatus.FALSE, "SchemaDrift", last.message)
    else:
        ready = (ConditionStatus.TRUE, "Scheduled",
                 f"next run at {status.next_run_at.isoformat() if status.next_run_at else '-'}")
    conditions = set_condition(conditions, type=READY, status=ready[0], reason=ready[1],
                               message=ready[2], generation=generation, now=now)
    conditions = set_condition(
        conditions, type=STALLED,
        status=ConditionStatus.TRUE if stalled is not None else ConditionStatus.FALSE,
        reason=stalled[0] if stalled else "NotStalled",
        message=stalled[1] if stalled else "", generation=generation, now=now)
    if last is not None and last.result == RunResult.SCHEMA_DRIFT:
        drift = (ConditionStatus.TRUE, "SourceChanged", last.message)
    elif last is not None and last.result == RunResult.SUCCEEDED:
        drift = (ConditionStatus.FALSE, "SourceMatches", "the source fits the model")
    else:
        drift = None
    if drift is not None:
        conditions = set_condition(conditions, type=SCHEMA_DRIFT, status=drift[0],
                                   reason=drift[1], message=drift[2], generation=generation,
                                   now=now)
    return conditions


def _fold_run(extraction: TenantExtraction, status: TenantExtractionStatus,
              job: k.V1Job | None, ctx: Context, now: datetime) -> TenantExtractionStatus:
    """The last run's Job has finished: record its outcome (once)."""
    run = status.last_run
    if run is None or run.result != RunResult.RUNNING:
        return status
    if job is None:
        failed = run.model_copy(update={"result": RunResult.FAILED, "completed_at": now,
                                        "message": f"Job {run.job} disappeared"})
        return status.model_copy(update={"last_run": failed})
    finished = _finished(job)
    if finished is None:
        return status
    namespace = ctx.settings.operator_namespace
    text = termination_message(ctx.core, namespace, run.job, succeeded=finished)
    try:
        summary: dict[str, Any] = json.loads(text) if text else {}
    except ValueError:
        summary = {"error": "the run's termination message is not JSON"}
    update: dict[str, Any] = {"completed_at": now}
    extra: dict[str, Any] = {}
    if finished:
        location = f"s3://{extraction.spec.destination.s3.bucket}/{summary.get('manifestKey')}"
        update.update(result=RunResult.SUCCEEDED, location=location,
                      manifest_sha256=summary.get("manifestSha256"),
                      tables=[TableRows(name=str(t), rows=int(n))
                              for t, n in (summary.get("rows") or {}).items()],
                      bytes=int(summary.get("bytes") or 0), message="complete")
        done = run.model_copy(update=update)
        extra = {"last_successful_run": done,
                 "new_source_columns": list(summary.get("newSourceColumns") or [])}
        jobs.post_event(ctx.core, EVENTS_NAMESPACE, extraction, "Normal", "RunSucceeded",
                        f"run for {run.scheduled_at.isoformat()} complete: {location}")
    elif summary.get("result") == "SchemaDrift":
        message = "; ".join(summary.get("problems") or []) or str(summary.get("error"))
        done = run.model_copy(update={**update, "result": RunResult.SCHEMA_DRIFT,
                                      "message": message[:4000]})
        jobs.post_event(ctx.core, EVENTS_NAMESPACE, extraction, "Warning", "SchemaDrift",
                        f"run wrote nothing, the last good run stays published: {message}")
    else:
        message = str(summary.get("error") or f"Job {run.job} failed")
        done = run.model_copy(update={**update, "result": RunResult.FAILED,
                                      "message": message[:4000]})
        jobs.post_event(ctx.core, EVENTS_NAMESPACE, extraction, "Warning", "RunFailed", message)
    return status.model_copy(update={"last_run": done, **extra})


def _needs_validation(extraction: TenantExtraction, model: DataModel, now: datetime,
                      retry_seconds: float) -> bool:
    """On every change of terms; and, while the last result was not Valid, again
    every `retry_seconds` (the fix may be in the database, not in the spec)."""
    validation = extraction.status.validation
    if (validation is None
            or extraction.status.observed_generation != extraction.metadata.generation
            or extraction.status.model_hash != content_hash(model.spec)
            or validation.version != model.spec.version):
        return True
    if validation.result == ValidationResult.VALID or validation.validated_at is None:
        return False
    return (now - validation.validated_at).total_seconds() >= retry_seconds


def _validate_live(extraction: TenantExtraction, model: DataModel,
                   status: TenantExtractionStatus, ctx: Context, now: datetime
                   ) -> tuple[TenantExtractionStatus, tuple[str, str] | None]:
    """Check the model against this tenant's live server (read-only transaction)."""
    db = extraction.spec.database
    try:
        account = database_credentials(ctx.core, extraction.spec.tenant_namespace,
                                       db.credentials_secret)
        conn = connect(db.host, db.port, account.username, account.password,
                       connect_timeout=10)
    except (SecretProblem, DatabaseUnavailable) as problem:
        validation = Validation(result=ValidationResult.UNKNOWN, messages=[str(problem)],
                                validated_at=now, version=model.spec.version)
        return status.model_copy(update={"validation": validation}), None
    try:
        live = validate_in_read_only_transaction(conn, model.spec, extraction.schema_name)
    finally:
        conn.close()
    result = ValidationResult.VALID if live.report.ok else ValidationResult.INVALID
    validation = Validation(result=result, messages=live.report.problems[:200],
                            validated_at=now, version=model.spec.version)
    stalled = None if live.report.ok else (
        "ModelInvalidForTenant", "; ".join(live.report.problems[:5]))
    if stalled is not None:
        jobs.post_event(ctx.core, EVENTS_NAMESPACE, extraction, "Warning",
                        "ModelInvalidForTenant", stalled[1])
    return status.model_copy(update={"validation": validation}), stalled


# --------------------------------------------------------------------------
# observation
# --------------------------------------------------------------------------

def _read_model(custom: client.CustomObjectsApi, name: str) -> DataModel | None:
    with tolerate(404):
        body = custom.get_cluster_custom_object(names.GROUP, names.VERSION,
                                                names.DATAMODEL_PLURAL, name)
        return DataModel.from_body(body)
    return None


def _namespace_exists(core: client.CoreV1Api, namespace: str) -> bool:
    with tolerate(404):
        core.read_namespace(namespace)
        return True  # a Terminating namespace still exists; its exit has stopped runs
    return False


def _exit_phase(custom: client.CustomObjectsApi, namespace: str) -> str | None:
    listed = custom.list_cluster_custom_object(names.GROUP, names.VERSION, names.PLURAL)
    for item in listed.get("items", []):
        if (item.get("spec") or {}).get("tenantNamespace") == namespace:
            return str((item.get("status") or {}).get("phase") or "") or None
    return None


def _read_job(batch: client.BatchV1Api, namespace: str, name: str) -> k.V1Job | None:
    with tolerate(404):
        job: k.V1Job = batch.read_namespaced_job(name, namespace)
        return job
    return None


def _finished(job: k.V1Job) -> bool | None:
    """True succeeded, False failed, None still running."""
    for condition in (job.status.conditions if job.status else None) or []:
        if condition.status == "True" and condition.type in ("Complete", "SuccessCriteriaMet"):
            return True
        if condition.status == "True" and condition.type in ("Failed", "FailureTarget"):
            return False
    return None


def _same(old: Any, new: Any) -> bool:
    return bool(old.model_dump(mode="json") == new.model_dump(mode="json"))


def _status_patch(old: Any, new: Any) -> dict[str, Any]:
    """Merge patch of the whole status we own (lists such as conditions are replaced)."""
    before = old.model_dump(mode="json", by_alias=True, exclude_none=True)
    after = new.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {"status": merge_patch(before, after)}
