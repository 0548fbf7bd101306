"""What the scratch server images (`mysql:<tag>`, `mariadb:<tag>`) mean on the
process kubelet: the entrypoint of the official images, for this machine's
servers.

The official images' entrypoint initialises an empty datadir (root without a
password when MYSQL_ALLOW_EMPTY_PASSWORD / MARIADB_ALLOW_EMPTY_ROOT_PASSWORD is
set) and then runs the server with the container's args. Here the first arg
(`mysqld` or `mariadbd`) picks the family; every tag of a family maps to the one
local server of that family (Oracle MySQL from the provisioned tree, Debian's
MariaDB), so the harness's image map names the versions it runs. The container's
args are kept; options the local build needs (its tmpdir, no X plugin, the redo
capacity of the template datadir) are added. The container's `/tmp` (its
`--tmpdir`) is an emptyDir, mapped like any mount.

    python -m tests.localcluster.scratch_image mysqld --datadir=... --socket=...
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.localcluster.mysql_tree import mysql_tool
from tests.localcluster.mysqlserver import _REDO_CAPACITY, _copy_template
from tests.localcluster.tools import find_binary


def _option(args: list[str], name: str) -> str:
    prefix = f"--{name}="
    found = [a[len(prefix):] for a in args if a.startswith(prefix)]
    if not found:
        raise SystemExit(f"scratch image: {prefix}... is required")
    return found[-1]


def _root_args() -> list[str]:
    return ["--user=root"] if os.geteuid() == 0 else []


def _mariadb(args: list[str], datadir: Path, tmpdir: Path) -> list[str]:
    if not (datadir / "mysql").is_dir():
        # Root without a password, as the image's entrypoint leaves it.
        install = [find_binary("mariadb-install-db", "mysql_install_db"), "--no-defaults",
                   f"--datadir={datadir}", *_root_args(),
                   "--auth-root-authentication-method=normal", "--skip-test-db",
                   "--skip-name-resolve", f"--tmpdir={tmpdir}"]
        basedir = Path(find_binary("mariadbd", "mysqld")).resolve().parent.parent
        if (basedir / "share").is_dir():
            install.append(f"--basedir={basedir}")
        subprocess.run(install, check=True, stdout=sys.stderr, stderr=sys.stderr, timeout=300)
    return [find_binary("mariadbd", "mysqld"), "--no-defaults", *_root_args(), *args]


def _mysql(args: list[str], datadir: Path, tmpdir: Path) -> list[str]:
    if not (datadir / "mysql.ibd").is_file():
        if datadir.is_dir() and not any(datadir.iterdir()):
            datadir.rmdir()
        _copy_template(datadir)  # initialised --initialize-insecure: root without a password
    # Debian's build defaults secure-file-priv to /var/lib/mysql-files, which the
    # image has and this machine need not.
    return [mysql_tool("mysqld"), "--no-defaults", *_root_args(), *args, "--mysqlx=OFF",
            f"--innodb-redo-log-capacity={_REDO_CAPACITY}", f"--secure-file-priv={tmpdir}"]


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("mysqld", "mariadbd"):
        raise SystemExit("scratch image: the first arg must be mysqld or mariadbd")
    args = argv[1:]
    datadir = Path(_option(args, "datadir"))
    tmpdir = Path(_option(args, "tmpdir"))
    build = _mariadb if argv[0] == "mariadbd" else _mysql
    command = build(args, datadir, tmpdir)
    sys.stdout.flush()
    os.execv(command[0], command)  # noqa: S606 - the server replaces the entrypoint


if __name__ == "__main__":
    main(sys.argv[1:])
