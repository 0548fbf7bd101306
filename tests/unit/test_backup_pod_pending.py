"""A backup pod that cannot start says why: a ReadWriteOnce claim held by a pod on
another node is named at once; any other Pending pod after ten minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kubernetes.client import models as k

from tenant_exit.api import conditions as c
from tenant_exit.api import names
from tenant_exit.api.status import ConditionStatus, Phase
from tenant_exit.kube.claims import find_holders, one_node_claims
from tenant_exit.phases import actions as a
from tenant_exit.phases.backup_running import decide_finished_job
from tenant_exit.phases.observed import JobState, NamespaceState, Observed
from tests.support.exits import make_exit

NOW = datetime(2027, 3, 2, 12, 0, tzinfo=UTC)
NS = "tenant-zorggroep-noord"
JOB = "zorggroep-noord-backup-1"


def pod(name: str, node: str | None, claims: list[str], phase: str = "Running") -> k.V1Pod:
    volumes = [k.V1Volume(name=c_, persistent_volume_claim=k.V1PersistentVolumeClaimVolumeSource(
        claim_name=c_)) for c_ in claims]
    return k.V1Pod(metadata=k.V1ObjectMeta(name=name),
                   spec=k.V1PodSpec(containers=[], node_name=node, volumes=volumes),
                   status=k.V1PodStatus(phase=phase))


def pv(claim: str, modes: list[str], namespace: str = NS) -> k.V1PersistentVolume:
    return k.V1PersistentVolume(spec=k.V1PersistentVolumeSpec(
        access_modes=modes, claim_ref=k.V1ObjectReference(namespace=namespace, name=claim)))


def test_only_one_node_claims_of_the_namespace_count() -> None:
    volumes = [pv("docs", ["ReadWriteOnce"]), pv("shared", ["ReadWriteMany"]),
               pv("other", ["ReadWriteOnce"], namespace="tenant-b")]
    assert one_node_claims(NS, volumes) == {"docs"}


def test_a_pod_on_another_node_holding_the_claim_is_named() -> None:
    backup = pod("backup-x", "node-b", ["docs", "shared"], phase="Pending")
    others = [pod("app-0", "node-a", ["docs"]), pod("app-1", "node-b", ["docs"]),
              pod("old", "node-c", ["docs"], phase="Succeeded"),
              pod("web", "node-a", ["shared"])]
    assert find_holders(backup, others, {"docs"}) == (
        "claim docs (ReadWriteOnce) is mounted by pod app-0 on node node-a",)


def decide(job: JobState) -> list[a.Action]:
    exit = make_exit(status={"phase": Phase.BACKUP_RUNNING.value,
                             "backup": {"job": JOB, "attempts": 1}})
    seen = Observed(now=NOW, operator_namespace="tenant-exit-system",
                    namespace=NamespaceState(name=NS, guarded_by=exit.name, has_finalizer=True,
                                             deletion_label=names.DELETION_BLOCKED),
                    backup_job=job)
    return decide_finished_job(exit, seen, job)


def test_a_held_claim_is_reported_at_once() -> None:
    held = "claim docs (ReadWriteOnce) is mounted by pod app-0 on node node-a"
    (ready,) = decide(JobState(name=JOB, pending_since=NOW - timedelta(seconds=30),
                               claim_holders=(held,)))
    assert isinstance(ready, a.SetCondition) and ready.type == c.READY
    assert ready.status is ConditionStatus.FALSE and ready.reason == c.BACKUP_POD_PENDING
    assert held in ready.message and "scale the application down" in ready.message


def test_a_pending_pod_without_a_known_cause_is_reported_after_ten_minutes() -> None:
    (early,) = decide(JobState(name=JOB, pending_since=NOW - timedelta(minutes=9)))
    assert isinstance(early, a.SetCondition) and early.reason == c.BACKUP_JOB_CREATED
    (late,) = decide(JobState(name=JOB, pending_since=NOW - timedelta(minutes=10)))
    assert isinstance(late, a.SetCondition) and late.reason == c.BACKUP_POD_PENDING
    assert f"describe pod -l batch.kubernetes.io/job-name={JOB}" in late.message


def test_a_running_pod_is_just_running() -> None:
    (ready,) = decide(JobState(name=JOB, active=1))
    assert isinstance(ready, a.SetCondition) and ready.status is ConditionStatus.TRUE
