"""Locates the pinned Kubernetes/etcd/helm binaries, building them when absent.

The build itself lives in build-binaries.sh (Go modules -> version-keyed cache
outside the repository); this module only asks it where they are.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


@cache
def bin_dir() -> Path:
    """Directory holding kube-apiserver, kube-controller-manager, kube-scheduler,
    kubectl, etcd and helm. Builds them on first use (minutes, once per cache)."""
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    result = subprocess.run(
        [str(_HERE / "build-binaries.sh")], env=env, check=True, capture_output=True, text=True
    )
    path = Path(result.stdout.strip().splitlines()[-1])
    if not (path / "kube-apiserver").is_file():
        raise RuntimeError(f"build-binaries.sh reported {path}, which has no kube-apiserver")
    return path


@cache
def age_dir() -> Path:
    """Directory holding `age` and `age-keygen` built from filippo.io/age (the
    version in versions.env): Debian's age lacks post-quantum recipients. Put it
    first on PATH wherever the worker runs."""
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    result = subprocess.run(
        [str(_HERE / "build-age.sh")], env=env, check=True, capture_output=True, text=True
    )
    path = Path(result.stdout.strip().splitlines()[-1])
    if not (path / "age").is_file():
        raise RuntimeError(f"build-age.sh reported {path}, which has no age")
    return path


def binary(name: str) -> str:
    return str(bin_dir() / name)
