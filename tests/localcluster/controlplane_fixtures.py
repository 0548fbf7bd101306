"""pytest fixtures for the local control plane (session scope)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.localcluster.controlplane import ControlPlane


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    # TMPDIR-rooted paths stay short: etcd and unix sockets dislike long ones.
    plane = ControlPlane(workdir=Path(tmp_path_factory.mktemp("kube")))
    plane.start()
    os.environ["TENANT_EXIT_TEST_KUBECONFIG"] = str(plane.kubeconfig)
    try:
        yield plane
    finally:
        plane.stop()
