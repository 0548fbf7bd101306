"""Runs the pinned helm binary (built by the local-cluster harness) on the chart."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tests.localcluster import binaries

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "tenant-exit-operator"
RELEASE = "tenant-exit-operator"
NAMESPACE = "tenant-exit-system"
# `helm template` assumes an old Kubernetes without a cluster; the chart needs
# ValidatingAdmissionPolicy v1 (1.30+). The harness runs the pinned release.
KUBE_VERSION = "1.36.0"


def helm(
    *args: str, kubeconfig: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    cmd = [str(binaries.bin_dir() / "helm"), *args]
    if kubeconfig is not None:
        cmd += ["--kubeconfig", str(kubeconfig)]
    with tempfile.TemporaryDirectory(prefix="helm-") as home:
        # Own cache/config/data dirs: tests never read or write the user's helm setup.
        env = {
            **os.environ,
            "HELM_CACHE_HOME": f"{home}/cache",
            "HELM_CONFIG_HOME": f"{home}/config",
            "HELM_DATA_HOME": f"{home}/data",
        }
        env.pop("KUBECONFIG", None)
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if check and result.returncode != 0:
        command = " ".join(args)
        raise AssertionError(f"helm {command} failed ({result.returncode}):\n{result.stderr}")
    return result


def values_file(values: dict[str, Any], directory: Path) -> Path:
    path = directory / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def render(
    values: dict[str, Any] | None = None,
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    include_crds: bool = False,
) -> list[dict[str, Any]]:
    """`helm template` of the chart, as parsed objects."""
    with tempfile.TemporaryDirectory(prefix="values-") as tmp:
        args = ["template", release, str(CHART), "--namespace", namespace,
                "--kube-version", KUBE_VERSION]
        if values:
            args += ["--values", str(values_file(values, Path(tmp)))]
        if include_crds:
            args.append("--include-crds")
        out = helm(*args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def template_error(values: dict[str, Any]) -> str:
    """stderr of a `helm template` that is expected to fail."""
    with tempfile.TemporaryDirectory(prefix="values-") as tmp:
        result = helm(
            "template", RELEASE, str(CHART), "--kube-version", KUBE_VERSION,
            "--values", str(values_file(values, Path(tmp))), check=False,
        )
    assert result.returncode != 0, "helm template accepted values it should refuse"
    return result.stderr


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]
