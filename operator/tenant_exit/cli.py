"""Command line entry point:
`tenant-exit operator | worker backup | crd | verify | load | public-key`.

Each subcommand imports its implementation lazily, so the worker image path
never loads kopf and `tenant-exit crd` needs no cluster.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenant-exit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("operator", help="run the operator (kopf) against the current cluster")
    crd = sub.add_parser("crd", help="print (or write) the CustomResourceDefinitions as YAML")
    crd.add_argument(
        "--out-dir",
        metavar="DIR",
        default=None,
        help="write one <group>_<plural>.yaml per resource into DIR and print their paths",
    )
    crd.add_argument(
        "--guard-policy",
        metavar="OPERATOR_USER",
        nargs="?",
        const="",
        default=None,
        help="print the namespace guard admission policy instead (for this operator identity)",
    )
    crd.add_argument("--class-policy", action="store_true",
                     help="print the admission policy holding exits to their TenantExitClass")

    worker = sub.add_parser("worker", help="code that runs inside the exit's Jobs")
    worker_sub = worker.add_subparsers(dest="worker_command", required=True)
    worker_sub.add_parser("backup", help="dump database and documents to S3 (env-configured)")
    worker_sub.add_parser("extract", help="one periodic extraction run to S3 (env-configured)")
    worker_sub.add_parser("verify", help="read a finished backup back through presigned links "
                                         "(the verify Job; env-configured)")

    verify = sub.add_parser("verify", help="check a backup's objects against its manifest")
    verify.add_argument("manifest", help="s3://bucket/key of manifest.json, or a local path")
    verify.add_argument("--endpoint-url", default=None, help="S3-compatible endpoint URL")
    verify.add_argument("--region", default=None)
    verify.add_argument(
        "--directory",
        default=None,
        help="verify downloaded files in this directory instead of reading S3",
    )
    verify.add_argument("--public-key", action="append", metavar="ed25519:KEY",
                        help="the operator's public key: also check the Ed25519 signatures "
                             "of manifest.json and the certificate (repeatable)")
    verify.add_argument("--public-key-file", action="append", metavar="FILE",
                        help="a file with public keys, one a line (repeatable)")

    public_key = sub.add_parser(
        "public-key", help="print the operator's signing public key (reads its Secret)")
    public_key.add_argument("--namespace", default=None,
                            help="the operator's namespace (default: TENANT_EXIT_OPERATOR_"
                                 "NAMESPACE or tenant-exit-system)")
    public_key.add_argument("--all", action="store_true",
                            help="every published key, including those retired by rotation")
    public_key.add_argument("--rotate", action="store_true",
                            help="make a new signing key active; earlier keys stay published")

    load = sub.add_parser(
        "load",
        help="for the customer: verify, decrypt and load a received archive's database into "
             "a MySQL/MariaDB server (for consultation; it does not restore the application)",
    )
    from tenant_exit.receive.arguments import add_arguments

    add_arguments(load)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.command == "crd" and args.guard_policy is not None:
        from tenant_exit.api.admission import DEFAULT_OPERATOR_USER, render_guard_policy_yaml

        sys.stdout.write(render_guard_policy_yaml(args.guard_policy or DEFAULT_OPERATOR_USER))
        return 0
    if args.command == "crd" and args.class_policy:
        from tenant_exit.api.class_admission import render_class_policy_yaml

        sys.stdout.write(render_class_policy_yaml())
        return 0
    if args.command == "crd":
        return _crd(args.out_dir)
    if args.command == "operator":
        from tenant_exit.operator_main import run_operator

        return run_operator()
    if args.command == "worker" and args.worker_command == "extract":
        from tenant_exit.extraction.main import run_extract

        return run_extract()
    if args.command == "worker" and args.worker_command == "verify":
        from tenant_exit.worker.verify_job import run_verify_job

        return run_verify_job()
    if args.command == "worker":
        from tenant_exit.worker.main import run_backup

        return run_backup()
    if args.command == "verify":
        from tenant_exit.worker.verify import run_verify

        return run_verify(args)
    if args.command == "public-key":
        from tenant_exit.signing_cli import run_public_key

        return run_public_key(args)
    if args.command == "load":
        from tenant_exit.receive.load import run_load

        return run_load(args)
    raise AssertionError(f"unhandled command {args.command}")


def _crd(out_dir: str | None) -> int:
    from tenant_exit.api.crd import rendered_files

    files = rendered_files()
    if out_dir is None:
        # Every CRD as one multi-document stream (`kubectl apply -f -`).
        sys.stdout.write("---\n".join(files.values()))
        return 0
    for name, text in files.items():
        path = Path(out_dir) / name
        path.write_text(text, encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
