"""The arguments of `tenant-exit load`, apart from its implementation so that
building the command line imports no database or crypto library."""

from __future__ import annotations

import argparse

from tenant_exit.receive.definers import DefinerPolicy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", help="manifest.json of the downloaded backup")
    parser.add_argument("--directory", default=None,
                        help="where the downloaded files are (default: next to the manifest)")
    parser.add_argument("--identity", required=True,
                        help="age identity file (AGE-SECRET-KEY-1... lines) of a recipient")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3306)
    parser.add_argument("--user", required=True, help="account that loads (no SUPER needed)")
    parser.add_argument("--password-env", default="MYSQL_PWD", metavar="VARIABLE",
                        help="environment variable holding the password (default MYSQL_PWD)")
    parser.add_argument("--schema", action="append", default=[], metavar="SOURCE=TARGET",
                        help="load schema SOURCE of the archive into TARGET (repeatable)")
    parser.add_argument("--definer", choices=[p.value for p in DefinerPolicy],
                        default=DefinerPolicy.STRIP.value,
                        help="strip: views, triggers, routines and events get the loading "
                             "user as definer (default); rewrite: --definer-account; "
                             "keep: as dumped (needs SUPER or SET_USER_ID)")
    parser.add_argument("--definer-account", default=None, metavar="USER@HOST")
    parser.add_argument("--client", default=None,
                        help="the mysql command-line client (default: mysql, else mariadb)")
