"""`tenant-exit verify`: check a backup against its manifest — for the operator and
for the customer who received it.

    tenant-exit verify s3://bucket/<prefix><exit>/attempt-1/manifest.json [--endpoint-url URL]
    tenant-exit verify ./manifest.json [--directory ./downloaded] --public-key ed25519:...

Prints one line per object and the manifest's SHA-256 (the value a receipt
quotes). With `--public-key` (the operator's, from the README or
`tenant-exit public-key`; repeat it for keys from before a rotation) it also
checks the Ed25519 signatures of manifest.json and, when present beside it, of
the certificate of destruction, and that the certificate names this manifest.
Exit status: 0 all objects (and signatures) match, 1 some object is missing
or differs or a signature fails, 2 the manifest itself cannot be read. Needs
no decryption key and no Kubernetes access: it checks the stored bytes. S3
credentials come from the usual AWS_* environment.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from tenant_exit.storage.certificate import CERTIFICATE_NAME
from tenant_exit.storage.manifest import (
    MANIFEST_NAME,
    VerificationReport,
    beside_manifest,
    verify_backup,
    verify_directory,
)
from tenant_exit.storage.s3client import make_client
from tenant_exit.storage.signing import ArtefactCheck, check_artefact, signature_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

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


Reader = Callable[[str], "bytes | None"]
"""Bytes of an object beside the manifest by its name, None when absent."""


def signature_checks(read: Reader, manifest_sha256: str,
                     trusted: list[str]) -> list[ArtefactCheck]:
    """The manifest's signature, and the certificate's when there is one."""
    checks = [check_artefact(MANIFEST_NAME, read(MANIFEST_NAME),
                             read(signature_key(MANIFEST_NAME)), trusted)]
    certificate = read(CERTIFICATE_NAME)
    if certificate is not None:
        check = check_artefact(CERTIFICATE_NAME, certificate,
                               read(signature_key(CERTIFICATE_NAME)), trusted)
        if check.ok:
            try:
                quoted = json.loads(certificate)["backup"]["manifestSha256"]
            except (ValueError, KeyError, TypeError):
                quoted = None
            if quoted != manifest_sha256:
                check = ArtefactCheck(CERTIFICATE_NAME, False,
                                      f"certifies manifest {quoted}, not this one "
                                      f"({manifest_sha256})", check.key_id)
        checks.append(check)
    return checks


def print_signatures(checks: list[ArtefactCheck], out: TextIO) -> None:
    for check in checks:
        if check.ok:
            out.write(f"SIGNED  {check.name} (key {check.key_id})\n")
        else:
            out.write(f"FAILED  {check.name} signature: {check.problem}\n")


def _s3_reader(client: S3Client, bucket: str, manifest_key: str) -> Reader:
    def read(name: str) -> bytes | None:
        try:
            body = client.get_object(Bucket=bucket,
                                     Key=beside_manifest(manifest_key, name))["Body"]
            return bytes(body.read())
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
    return read


def _directory_reader(manifest: Path, directory: Path) -> Reader:
    def read(name: str) -> bytes | None:
        path = manifest if name == MANIFEST_NAME else directory / name
        return path.read_bytes() if path.is_file() else None
    return read


def _trusted_keys(args: argparse.Namespace) -> list[str]:
    keys = list(getattr(args, "public_key", None) or [])
    for path in getattr(args, "public_key_file", None) or []:
        keys += [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    return keys


def run_verify(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        trusted = _trusted_keys(args)
        if str(args.manifest).startswith("s3://"):
            bucket, key = parse_s3_url(args.manifest)
            client = make_client(endpoint_url=args.endpoint_url, region=args.region)
            report = verify_backup(client, bucket, key)
            read = _s3_reader(client, bucket, key)
        else:
            manifest = Path(args.manifest)
            directory = Path(args.directory) if args.directory else manifest.parent
            report = verify_directory(manifest, directory)
            read = _directory_reader(manifest, directory)
        signatures = signature_checks(read, report.manifest_sha256, trusted) if trusted else []
    except (LookupError, OSError, ValueError, BotoCoreError, ClientError) as err:
        # Name the endpoint too: wrong credentials and a wrong endpoint read alike.
        where = ""
        if str(args.manifest).startswith("s3://"):
            where = f" (endpoint {args.endpoint_url or 'AWS default'})"
        sys.stderr.write(f"cannot verify: {err}{where}\n")
        return EXIT_UNREADABLE
    print_report(report, out)
    print_signatures(signatures, out)
    if not trusted:
        out.write("signatures NOT checked: pass the operator's --public-key\n")
    signed = all(check.ok for check in signatures)
    if not signed:
        out.write("NOT verified: a signature does not hold\n")
    return 0 if report.ok and signed else EXIT_MISMATCH
