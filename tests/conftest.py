"""Shared fixtures: each piece of the local stack registers its own plugin module."""

pytest_plugins = [
    "tests.localcluster.controlplane_fixtures",
    "tests.localcluster.cluster_fixtures_kubelet",
    "tests.localcluster.data_fixtures",
    "tests.support.exit_fixtures",
]
