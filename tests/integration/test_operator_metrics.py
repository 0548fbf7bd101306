"""The operator as a process with TENANT_EXIT_METRICS_PORT set: Prometheus scrapes
`/metrics` over HTTP and sees each TenantExit in its phase, as `kubectl get texit`
does; a cancelled exit leaves the gauge. No label carries a name or a secret."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tenant_exit.api.status import Phase
from tests.localcluster.controlplane import ControlPlane, free_port
from tests.localcluster.families import UNTIL_WORKER_DUMPS_MYSQL
from tests.support.exit_tenant import ExitTenant, in_seconds
from tests.support.operator_process import OperatorProcess, running_operator
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, UNTIL_WORKER_DUMPS_MYSQL]


@pytest.fixture(scope="module")
def metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def exit_operator(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory, metrics_port: int
) -> Iterator[OperatorProcess]:
    """This module's operator serves metrics (overrides the shared fixture)."""
    workdir = Path(tmp_path_factory.mktemp("operator-metrics"))
    env = {"TENANT_EXIT_METRICS_PORT": str(metrics_port)}
    with running_operator(control_plane, workdir, env) as process:
        yield process


def scrape(port: int) -> tuple[str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.headers["Content-Type"], response.read().decode()


def phase_gauge(text: str) -> dict[str, float]:
    return {
        sample.labels["phase"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "tenant_exit_exits"
        for sample in family.samples
    }


def phases_in_cluster(plane: ControlPlane) -> dict[str, float]:
    items = json.loads(plane.kubectl("get", "texit", "-o", "json").stdout)["items"]
    seen = Counter(item.get("status", {}).get("phase") for item in items)
    return {phase.value: float(seen[phase.value]) for phase in Phase}


def gauge_matches_cluster(plane: ControlPlane, port: int) -> dict[str, float] | None:
    """The gauge equals `kubectl get texit` per phase (other modules' exits included)."""
    gauge = phase_gauge(scrape(port)[1])
    return gauge if gauge == phases_in_cluster(plane) else None


def test_the_phase_gauge_follows_an_applied_and_a_cancelled_exit(
    exit_tenant: ExitTenant, exit_operator: OperatorProcess, metrics_port: int
) -> None:
    plane = exit_tenant.plane
    content_type, text = scrape(metrics_port)
    assert content_type.startswith("text/plain")
    assert set(phase_gauge(text)) == {phase.value for phase in Phase}

    exit_tenant.apply_exit(exit_tenant.spec(until=in_seconds(3600)))
    exit_tenant.wait_for_phase("ReadOnlyLicensed")

    def licensed_counted() -> dict[str, float] | None:
        gauge = gauge_matches_cluster(plane, metrics_port)
        return gauge if gauge and gauge["ReadOnlyLicensed"] >= 1 else None

    gauge = wait_for("the phase gauge to count the ReadOnlyLicensed exit", licensed_counted, 30)
    licensed = gauge["ReadOnlyLicensed"]

    _, text = scrape(metrics_port)
    assert exit_tenant.exit_name not in text and exit_tenant.namespace not in text
    assert not [secret for secret in exit_tenant.secrets if secret in text]
    families = {family.name for family in text_string_to_metric_families(text)}
    assert {
        "tenant_exit_stalled_exits", "tenant_exit_backup_attempts", "tenant_exit_failures",
        "tenant_exit_deletions", "tenant_exit_backup_duration_seconds",
        "tenant_exit_backup_stored_bytes",
    } <= families

    # Deleting the TenantExit before Deleting is a cancel: the exit leaves the gauge.
    exit_tenant.delete_exit()
    after = wait_for(
        "the cancelled exit to leave the phase gauge",
        lambda: gauge_matches_cluster(plane, metrics_port),
        timeout=30,
    )
    assert after["ReadOnlyLicensed"] == licensed - 1
