"""Fixtures for operator tests; a test module imports the ones it uses.

`exit_operator` is module-scoped (one operator process per test module, which a
restart test may kill and start again); `exit_tenant` is a fresh tenant per test
on `db_server` (pin a module to one family with `families.only_on`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.dbserver import DatabaseServer
from tests.localcluster.volumes import LocalVolumes
from tests.support.exit_tenant import ExitTenant, prepare_tenant, remove_tenant
from tests.support.operator_process import OperatorProcess, running_operator


@pytest.fixture(scope="module")
def exit_operator(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    with running_operator(control_plane, Path(tmp_path_factory.mktemp("operator"))) as process:
        yield process


@pytest.fixture
def exit_tenant(
    exit_operator: OperatorProcess,
    control_plane: ControlPlane,
    db_server: DatabaseServer,
    local_volumes: LocalVolumes,
) -> Iterator[ExitTenant]:
    def provision(namespace: str, claim: str, policy: str) -> str:
        return local_volumes.provision(namespace, claim, "16Mi", policy).pv_name

    prepared = prepare_tenant(control_plane, db_server, provision)
    yield prepared
    if not exit_operator.healthy_or_none():
        exit_operator.start()  # a test that killed it must not leave the exit wedged
    remove_tenant(prepared)
