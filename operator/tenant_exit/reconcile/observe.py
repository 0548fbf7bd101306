"""Read what the decisions need from the cluster into an `Observed`."""

from __future__ import annotations

from datetime import datetime

from kubernetes.client import models as k
from pydantic import ValidationError

from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import Phase
from tenant_exit.kube import appflag, guards, jobs
from tenant_exit.kube.exits import list_exits
from tenant_exit.phases.backup_running import current_attempt
from tenant_exit.phases.guards import rivals
from tenant_exit.phases.observed import JobState, NamespaceState, Observed
from tenant_exit.reconcile.context import Context

_JOB_PHASES = {Phase.BACKUP_RUNNING, Phase.AWAITING_RECEIPT}


def observe(exit: TenantExit, ctx: Context, now: datetime) -> Observed:
    namespace = exit.spec.tenant_namespace
    read_only = exit.spec.read_only
    flag = read_only.app_flag if read_only else None
    return Observed(
        now=now,
        operator_namespace=ctx.settings.operator_namespace,
        namespace=_namespace(ctx, namespace),
        rivals=rivals(exit, _others(ctx)) if exit.status.phase is None else (),
        app_flag_value=appflag.read_flag(ctx.core, namespace, flag) if flag else None,
        backup_job=_job(exit, ctx) if exit.status.phase in _JOB_PHASES else None,
        credential_namespaces=ctx.settings.allowed_credential_namespaces(),
    )


def _others(ctx: Context) -> list[TenantExit]:
    """Every TenantExit that validates; one that does not cannot claim a namespace."""
    found = []
    for body in list_exits(ctx.custom):
        try:
            found.append(TenantExit.from_body(body))
        except ValidationError:
            continue
    return found


def _namespace(ctx: Context, name: str) -> NamespaceState | None:
    seen = guards.read_guards(ctx.core, name)
    if seen is None:
        return None
    return NamespaceState(
        name=name,
        terminating=seen.terminating,
        guarded_by=seen.exit,
        has_finalizer=seen.has_finalizer,
        deletion_label=seen.deletion,
        phase_annotation=seen.phase,
        unretained_volumes=seen.unretained_volumes,
    )


def _job(exit: TenantExit, ctx: Context) -> JobState | None:
    name = jobs.backup_job_name(exit.name, current_attempt(exit))
    job = jobs.read_job(ctx.batch, exit.spec.tenant_namespace, name)
    return None if job is None else job_state(job)


def job_state(job: k.V1Job) -> JobState:
    status = job.status or k.V1JobStatus()
    conditions = {c.type: c for c in status.conditions or [] if c.status == "True"}
    failed = conditions.get("Failed")
    return JobState(
        name=job.metadata.name,
        created_at=job.metadata.creation_timestamp,
        active=status.active or 0,
        succeeded="Complete" in conditions,
        failed=failed is not None,
        failure_message=(failed.message or failed.reason or "") if failed else "",
    )
