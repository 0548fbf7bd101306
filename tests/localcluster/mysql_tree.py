"""Locates the Oracle MySQL tree provision-mysql.sh unpacked from Debian sid,
provisioning it when absent (tens of seconds, once per cache and version)."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


@cache
def mysql_tree() -> Path:
    """The tree's root: usr/ from the packages, bin/ with the wrappers."""
    result = subprocess.run([str(_HERE / "provision-mysql.sh")], check=False,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"provision-mysql.sh failed ({result.returncode}):\n"
                           f"{result.stderr[-3000:]}")
    path = Path(result.stdout.strip().splitlines()[-1])
    if not (path / "bin" / "mysqld").is_file():
        raise RuntimeError(f"provision-mysql.sh reported {path}, which has no bin/mysqld")
    return path


def mysql_bin_dir() -> Path:
    """Wrappers `mysqld`, `mysql`, `mysqldump`, `mysqladmin` that run the tree's
    programs through its own loader."""
    return mysql_tree() / "bin"


def mysql_tool(name: str) -> str:
    return str(mysql_bin_dir() / name)


def pinned_version() -> str:
    """MYSQL_DEBIAN_VERSION from versions.env (e.g. 9.7.4-2), as the tools report it."""
    for line in (_HERE / "versions.env").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "MYSQL_DEBIAN_VERSION":
            return value.strip()
    raise RuntimeError("versions.env has no MYSQL_DEBIAN_VERSION")
