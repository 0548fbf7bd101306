"""A second custom resource can use the kube adapters, the events and the metrics
without the TenantExit model: they take an Owner, a namespace and the terms."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from kubernetes.client import ApiClient
from prometheus_client import CollectorRegistry

from tenant_exit.api import conditions as c
from tenant_exit.api.owner import Owner
from tenant_exit.api.spec import Database, Destination, DocumentVolume
from tenant_exit.api.status import Condition, ConditionStatus
from tenant_exit.kube.events import build_event
from tenant_exit.kube.jobs import BackupTerms, build_backup_job
from tenant_exit.kube.ownership import owned_labels, owner_reference
from tenant_exit.metrics import ExitMetrics, Tally
from tenant_exit.phases.events import transition_events
from tenant_exit.settings import OperatorSettings
from tests.support.exits import AGE_RECIPIENT

EXTRACTION = Owner(api_version="tenantexit.io/v1alpha1", kind="TenantExtraction",
                   name="nightly", uid="uid-nightly", name_label="tenantexit.io/extraction",
                   resource_version="42")
NOW = datetime(2027, 1, 1, tzinfo=UTC)


def test_the_adapters_do_not_import_the_tenant_exit_model() -> None:
    modules = ["tenant_exit.kube.ownership", "tenant_exit.kube.jobs", "tenant_exit.kube.events",
               "tenant_exit.kube.secrets", "tenant_exit.kube.records",
               "tenant_exit.kube.delivery", "tenant_exit.phases.events", "tenant_exit.metrics"]
    probe = "; ".join([*(f"import {m}" for m in modules),
                       "import sys", "print('tenant_exit.api.resource' in sys.modules)"])
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_owned_objects_point_at_the_stand_in_owner() -> None:
    reference = owner_reference(EXTRACTION)
    assert (reference.kind, reference.name, reference.uid) == (
        "TenantExtraction", "nightly", "uid-nightly")
    assert reference.controller is True
    assert owned_labels(EXTRACTION, "run")["tenantexit.io/extraction"] == "nightly"


def test_a_job_for_the_stand_in_owner() -> None:
    terms = BackupTerms(
        namespace="tenant-a",
        database=Database(host="db.tenant-a.svc", credentials_secret="dump"),
        documents=[DocumentVolume(claim_name="docs")],
        destination=Destination.model_validate({
            "s3": {"bucket": "extracts", "credentialsSecret": {"namespace": "ops", "name": "s3"}},
            "encryption": {"ageRecipients": [AGE_RECIPIENT]},
        }),
    )
    job = ApiClient().sanitize_for_serialization(
        build_backup_job(EXTRACTION, terms, 3, OperatorSettings()))
    assert job["metadata"]["name"] == "nightly-backup-3"
    assert job["metadata"]["namespace"] == "tenant-a"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "TenantExtraction"
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TENANT_EXIT_EXIT_NAME"]["value"] == "nightly"
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    secret = volumes["upload-credentials"]["secret"]["secretName"]
    assert secret == "nightly-destination-credentials"


def test_an_event_about_the_stand_in_owner() -> None:
    event = build_event("default", EXTRACTION, "Normal", "RunStarted", "x" * 2000, NOW)
    involved = event.involved_object
    assert (involved.kind, involved.name, involved.uid, involved.resource_version) == (
        "TenantExtraction", "nightly", "uid-nightly", "42")
    assert len(event.message) == 1024


class RunPhase(StrEnum):
    PENDING = "Pending"
    WRITTEN = "Written"


@dataclass(frozen=True)
class RunStatus:
    phase: RunPhase | None = None
    conditions: list[Condition] = field(default_factory=list)


def test_transition_events_and_metrics_for_another_status_type() -> None:
    ready = Condition(type=c.READY, status=ConditionStatus.TRUE, reason="RunWritten",
                      message="written", last_transition_time=NOW, observed_generation=1)
    events = transition_events(RunStatus(RunPhase.PENDING), RunStatus(RunPhase.WRITTEN, [ready]))
    assert [(e.type, e.reason) for e in events] == [("Normal", "Written"),
                                                    ("Normal", "RunWritten")]
    metrics = ExitMetrics(CollectorRegistry(), phases=[p.value for p in RunPhase])
    metrics.record("nightly", Tally(), RunPhase.WRITTEN.value, stalled=False)
    sample = metrics.registry.get_sample_value("tenant_exit_exits", {"phase": "Written"})
    assert sample == 1.0
