"""Restore verification through the operator (issue 13): the backup Job's pod runs
a scratch server sidecar of the source's family (the process kubelet maps the
image to this machine's MariaDB or MySQL), and the exit's conditions say what the
proof found. Real control plane, real database servers, real S3.

Sabotage goes through the worker's PATH: the operator's worker command puts a
directory of dump-tool wrappers first, which run the real tools and, while a
mode file says so, alter the stream in flight.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.mysql_tree import mysql_tool
from tests.localcluster.s3server import S3Server
from tests.localcluster.tools import find_binary
from tests.localcluster.volumes import LocalVolumes
from tests.support.full_tenant import FullTenant, provision_tenant
from tests.support.operator_process import OPERATOR_NAMESPACE, OperatorProcess, running_operator
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

FILTER = """
import sys
from pathlib import Path
mode = Path(sys.argv[1]).read_text().strip() if Path(sys.argv[1]).exists() else ""
# One row of the first INSERT of `clients` is left out, whichever way the dump
# tool lays rows out: MySQL's all on the INSERT line, MariaDB's one per line
# (the first on the INSERT line when it names columns).
done = following = False
for line in sys.stdin.buffer:
    if following and line.startswith(b"(") and line.endswith(b"),\\n"):
        following, done = False, True  # the first row, alone on its line
        continue
    if mode == "drop-row" and not done and not following:
        if line.startswith(b"INSERT INTO `clients` "):
            if b"),(" in line:  # the last row
                line = line[:line.rindex(b"),(") + 1] + b";\\n"
            elif line.endswith(b"),\\n"):  # the first row; the next line goes on
                line = line[:line.index(b" VALUES (") + len(b" VALUES")] + b"\\n"
            elif line.endswith(b" VALUES\\n"):  # rows follow, one per line
                following = True
                sys.stdout.buffer.write(line)
                continue
            done = True
    sys.stdout.buffer.write(line)
"""


def _wrappers(bin_dir: Path, mode_file: Path) -> None:
    """`mysqldump` (MySQL's) and `mariadb-dump` (MariaDB's) through the filter."""
    bin_dir.mkdir(parents=True)
    script = bin_dir / "filter.py"
    script.write_text(FILTER)
    real = {"mysqldump": mysql_tool("mysqldump"),
            "mariadb-dump": find_binary("mariadb-dump", package="mariadb-client")}
    for name, tool in real.items():
        wrapper = bin_dir / name
        wrapper.write_text(
            "#!/bin/sh\n"
            f'case "$1" in --version|--help) exec {shlex.quote(tool)} "$@";; esac\n'
            f'{shlex.quote(tool)} "$@" | {shlex.quote(sys.executable)} '
            f'{shlex.quote(str(script))} {shlex.quote(str(mode_file))}\n')
        wrapper.chmod(0o755)


@pytest.fixture(scope="module")
def sabotage() -> Iterator[tuple[Path, Path]]:
    # Not below /tmp: the backup container's /tmp is an emptyDir, and the process
    # kubelet maps the container's paths as a node would.
    cache = Path(os.environ.get("TENANT_EXIT_CACHE")
                 or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                 / "tenant-exit")
    cache.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="sabotage-", dir=cache))
    mode = root / "mode"
    _wrappers(root / "bin", mode)
    yield root / "bin", mode
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane, kubelet: object,
             tmp_path_factory: pytest.TempPathFactory,
             sabotage: tuple[Path, Path]) -> Iterator[OperatorProcess]:
    bin_dir, _ = sabotage
    command = f"PATH={shlex.quote(str(bin_dir))}:$PATH; export PATH; " \
              "exec tenant-exit worker backup"
    env = {
        "TENANT_EXIT_WORKER_COMMAND": json.dumps(["sh", "-c", command]),
        "TENANT_EXIT_JOB_BACKOFF_LIMIT": "0",
        "TENANT_EXIT_MAX_BACKUP_ATTEMPTS": "1",
        "TENANT_EXIT_BACKUP_RETRY_SECONDS": "3",
    }
    workdir = Path(tmp_path_factory.mktemp("operator"))
    with running_operator(control_plane, workdir, env) as process:
        yield process


@pytest.fixture
def mode(sabotage: tuple[Path, Path]) -> Iterator[Path]:
    _, file = sabotage
    yield file
    file.unlink(missing_ok=True)


@pytest.fixture
def tenant(operator: OperatorProcess, control_plane: ControlPlane, db_server: DatabaseServer,
           s3_server: S3Server, local_volumes: LocalVolumes) -> Iterator[FullTenant]:
    made = provision_tenant(control_plane, db_server, s3_server, local_volumes,
                            OPERATOR_NAMESPACE, clients=5, files=5)
    yield made
    if not operator.healthy_or_none():
        operator.start()
    control_plane.kubectl("delete", "texit", made.exit_name, "--wait=true", "--timeout=120s",
                          check=False, timeout=150)
    control_plane.kubectl("delete", "namespace", made.namespace, "--wait=false", check=False)


def _restarted(operator: OperatorProcess, **env: str) -> None:
    operator.stop()
    operator.extra_env.update(env)
    operator.start()


def _stalled(tenant: FullTenant) -> dict[str, Any]:
    def stalled() -> dict[str, Any] | None:
        found = tenant.condition("Stalled")
        return found if found and found["status"] == "True" else None

    return wait_for("the exit to stall", stalled, timeout=240)


def test_a_full_backup_is_restore_verified_before_awaiting_receipt(
        tenant: FullTenant) -> None:
    tenant.apply(tenant.body(licence_seconds=3))
    exit = tenant.wait_for_phase("AwaitingReceipt", timeout=300)
    conditions = {c["type"]: c for c in exit["status"]["conditions"]}
    verified = conditions["RestoreVerified"]
    assert (verified["status"], verified["reason"]) == ("True", "RestoreMatches"), verified
    assert f"scratch {tenant.db.family}" in verified["message"]
    [job] = tenant.jobs()
    [sidecar] = job.spec.template.spec.init_containers
    assert sidecar.restart_policy == "Always"
    assert sidecar.image.startswith(f"{tenant.db.family}:")


def test_a_row_dropped_in_flight_never_reaches_awaiting_receipt(
        tenant: FullTenant, mode: Path) -> None:
    mode.write_text("drop-row")
    tenant.apply(tenant.body(licence_seconds=3))
    _stalled(tenant)
    restore = tenant.condition("RestoreVerified")
    assert restore is not None and restore["status"] == "False", restore
    assert restore["reason"] == "RestoreMismatch"
    assert f"{tenant.schema}.clients (5 rows at the source, 4 restored)" in \
        restore["message"], restore["message"]
    assert (tenant.exit() or {})["status"]["phase"] == "BackupRunning"


@pytest.fixture
def small_scratch_limit(operator: OperatorProcess) -> Iterator[None]:
    """The platform's scratch limit at 1 KiB: every tenant is too large."""
    _restarted(operator, TENANT_EXIT_RESTORE_MAX_DATA_BYTES="1024")
    yield
    operator.extra_env.pop("TENANT_EXIT_RESTORE_MAX_DATA_BYTES")
    _restarted(operator)


def test_over_the_scratch_limit_best_effort_goes_on_with_restore_unknown(
        small_scratch_limit: None, tenant: FullTenant) -> None:
    body = tenant.body(licence_seconds=3)
    body["spec"]["verification"] = {"restore": "BestEffort"}
    tenant.apply(body)
    exit = tenant.wait_for_phase("AwaitingReceipt", timeout=300)
    conditions = {c["type"]: c for c in exit["status"]["conditions"]}
    restore = conditions["RestoreVerified"]
    assert (restore["status"], restore["reason"]) == ("Unknown", "TooLarge"), restore
    assert "more than the scratch limit of 1024 bytes" in restore["message"]
    [job] = tenant.jobs()
    assert not job.spec.template.spec.init_containers  # no scratch server at all


def test_over_the_scratch_limit_required_stalls_before_anything_is_stored(
        small_scratch_limit: None, tenant: FullTenant) -> None:
    tenant.apply(tenant.body(licence_seconds=3))
    stalled = _stalled(tenant)
    assert "restore verification is Required" in stalled["message"], stalled
    assert "scratch limit of 1024 bytes" in stalled["message"]
    restore = tenant.condition("RestoreVerified")
    assert restore is not None
    assert (restore["status"], restore["reason"]) == ("False", "TooLarge"), restore
    assert (tenant.exit() or {})["status"]["phase"] == "BackupRunning"


def test_restore_off_needs_a_reason(tenant: FullTenant) -> None:
    body = tenant.body(licence_seconds=3600)
    body["spec"]["verification"] = {"restore": "Off"}
    refused = tenant.plane.kubectl("apply", "-f", "-", input=json.dumps(body), check=False)
    assert refused.returncode != 0
    assert "verification.restore: Off needs verification.offReason" in refused.stderr
