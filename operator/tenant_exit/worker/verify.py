"""`tenant-exit verify`: check a backup against its manifest — for the operator and
for the customer who received it.

    tenant-exit verify s3://bucket/<prefix><exit>/attempt-1/manifest.json [--endpoint-url URL]
    tenant-exit verify ./manifest.json [--directory ./downloaded]

Prints one line per object and the manifest's SHA-256 (the value a receipt
quotes). Exit status: 0 all objects match, 1 some object is missing or differs,
2 the manifest itself cannot be read. Needs no decryption key: it checks the
stored bytes. S3 credentials come from the usual AWS_* environment.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from tenant_exit.storage.manifest import VerificationReport, verify_backup, verify_directory
from tenant_exit.storage.s3client import make_client

EXIT_MISMATCH = 1
EXIT_UNREADABLE = 2


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key)."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url}")
    bucket, _, key = url[len("s3://"):].partition("/")
    if not bucket or not key:
        raise ValueError(f"s3 URL needs a bucket and a key: {url}")
    return bucket, key


def print_report(report: VerificationReport, out: TextIO) -> None:
    for check in report.checks:
        out.write(f"{'OK      ' if check.ok else 'FAILED  '}{check.key}"
                  f"{'' if check.ok else ': ' + (check.problem or '')}\n")
    out.write(f"manifest {report.manifest_key}\nmanifest sha256 {report.manifest_sha256}\n")
    out.write(("verified: " if report.ok else "NOT verified: ") + report.summary() + "\n")


def run_verify(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        if str(args.manifest).startswith("s3://"):
            bucket, key = parse_s3_url(args.manifest)
            client = make_client(endpoint_url=args.endpoint_url, region=args.region)
            report = verify_backup(client, bucket, key)
        else:
            manifest = Path(args.manifest)
            directory = Path(args.directory) if args.directory else manifest.parent
            report = verify_directory(manifest, directory)
    except (LookupError, OSError, ValueError) as err:
        # Name the endpoint too: wrong credentials and a wrong endpoint read alike.
        where = ""
        if str(args.manifest).startswith("s3://"):
            where = f" (endpoint {args.endpoint_url or 'AWS default'})"
        sys.stderr.write(f"cannot verify: {err}{where}\n")
        return EXIT_UNREADABLE
    print_report(report, out)
    return 0 if report.ok else EXIT_MISMATCH
