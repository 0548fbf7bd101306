"""Finding the command-line tools the harness runs, and the PATH its workers and
pods get.

Two database families' clients live side by side: Debian's MariaDB client in
/usr/bin (`mariadb`, `mariadb-dump`, plus the compatibility symlinks `mysql` ->
mariadb and `mysqldump` -> mariadb-dump), and Oracle MySQL's own `mysql` and
`mysqldump` as wrappers in the provisioned MySQL tree (mysql_tree.py). `tool_path()`
puts the MySQL tree first, so the names `mysql`/`mysqldump` mean MySQL's own
tools and `mariadb`/`mariadb-dump` still mean MariaDB's: each family's client
is reachable under a name no other tool shadows.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def find_binary(*names: str, package: str = "mariadb-server") -> str:
    """The first of `names` on PATH or in /usr/sbin (Debian puts mariadbd there,
    and /usr/sbin is often missing from a non-root PATH)."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return found
    raise FileNotFoundError(
        f"none of {', '.join(names)} found on PATH or in /usr/sbin; "
        f"install the Debian package {package} (apt-get install {package})"
    )


def tool_path(base: str | None = None) -> str:
    """PATH for the worker and the process kubelet's pods: the project's
    virtualenv (`tenant-exit`), MySQL's own client tools, then `base` (default:
    this process's PATH) with MariaDB's."""
    from tests.localcluster.mysql_tree import mysql_bin_dir

    parts = [str(Path(sys.executable).parent), str(mysql_bin_dir())]
    parts += [p for p in (base or os.environ.get("PATH", os.defpath)).split(os.pathsep)
              if p and p not in parts]
    return os.pathsep.join(parts)
