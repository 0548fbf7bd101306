"""Command line entry point: `tenant-exit operator | worker backup | crd | verify`.

Each subcommand imports its implementation lazily, so the worker image path
never loads kopf and `tenant-exit crd` needs no cluster.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenant-exit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("operator", help="run the operator (kopf) against the current cluster")
    crd = sub.add_parser("crd", help="print the TenantExit CustomResourceDefinition as YAML")
    crd.add_argument(
        "--guard-policy",
        metavar="OPERATOR_USER",
        nargs="?",
        const="",
        default=None,
        help="print the namespace guard admission policy instead (for this operator identity)",
    )

    crd.add_argument(
        "--extraction",
        metavar="DIRECTORY",
        default=None,
        help="write the DataModel and TenantExtraction CRDs into DIRECTORY instead",
    )

    worker = sub.add_parser("worker", help="code that runs inside the exit's Jobs")
    worker_sub = worker.add_subparsers(dest="worker_command", required=True)
    worker_sub.add_parser("backup", help="dump database and documents to S3 (env-configured)")
    worker_sub.add_parser("extract", help="one periodic extraction run to S3 (env-configured)")

    verify = sub.add_parser("verify", help="check a backup's objects against its manifest")
    verify.add_argument("manifest", help="s3://bucket/key of manifest.json, or a local path")
    verify.add_argument("--endpoint-url", default=None, help="S3-compatible endpoint URL")
    verify.add_argument("--region", default=None)
    verify.add_argument(
        "--directory",
        default=None,
        help="verify downloaded files in this directory instead of reading S3",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.command == "crd" and args.guard_policy is not None:
        from tenant_exit.api.admission import DEFAULT_OPERATOR_USER, render_guard_policy_yaml

        sys.stdout.write(render_guard_policy_yaml(args.guard_policy or DEFAULT_OPERATOR_USER))
        return 0
    if args.command == "crd" and args.extraction is not None:
        from pathlib import Path

        from tenant_exit.api.extraction_crd import checked_in_files

        for name, text in checked_in_files().items():
            (Path(args.extraction) / name).write_text(text)
        return 0
    if args.command == "crd":
        from tenant_exit.api.crd import render_crd_yaml

        sys.stdout.write(render_crd_yaml())
        return 0
    if args.command == "operator":
        from tenant_exit.operator_main import run_operator

        return run_operator()
    if args.command == "worker" and args.worker_command == "extract":
        from tenant_exit.extraction.main import run_extract

        return run_extract()
    if args.command == "worker":
        from tenant_exit.worker.main import run_backup

        return run_backup()
    if args.command == "verify":
        from tenant_exit.worker.verify import run_verify

        return run_verify(args)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    raise SystemExit(main())
