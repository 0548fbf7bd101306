"""pytest fixtures for the process kubelet and local volumes (session scope)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.localcluster.controlplane import ControlPlane
from tests.localcluster.kubelet import ProcessKubelet
from tests.localcluster.volumes import LocalVolumes


@pytest.fixture(scope="session")
def kubelet(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProcessKubelet]:
    node = ProcessKubelet(control_plane.api_client(), workdir=tmp_path_factory.mktemp("kubelet"))
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def local_volumes(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalVolumes]:
    volumes = LocalVolumes(control_plane.api_client(), tmp_path_factory.mktemp("volumes"))
    try:
        yield volumes
    finally:
        volumes.stop()
