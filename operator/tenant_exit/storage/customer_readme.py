"""README.txt for the customer, stored next to the backup.

The receiving care organisation may have no one who knows this platform: the
file says what is inside, how to verify it, how to decrypt it, and — plainly —
that it cannot restore the application. Pure rendering plus one upload.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tenant_exit.api.types import human_size
from tenant_exit.storage.manifest import Manifest, beside_manifest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

README_NAME = "README.txt"


def attempt_folder(manifest_key: str) -> str:
    """The folder of this backup's attempt (`<prefix><exit>/attempt-<n>/`): what to
    download. The spec's prefix holds every attempt, failed ones included."""
    folder, _, _ = manifest_key.rpartition("/")
    return f"{folder}/" if folder else ""


def render_readme(manifest: Manifest, manifest_key: str, manifest_sha256: str,
                  bucket: str | None = None) -> str:
    where = f"s3://{bucket}/{attempt_folder(manifest_key)}" if bucket else (
        attempt_folder(manifest_key) or "the folder of manifest.json")
    objects = "\n".join(
        f"  {obj.key.rsplit('/', 1)[-1]:<48} {human_size(obj.size):>10}  sha256 {obj.sha256}"
        for obj in manifest.objects
    )
    totals = manifest.totals
    excluded = []
    if manifest.database:
        excluded.append(
            "  database tables matching " + ", ".join(manifest.database.exclude_patterns)
            + f" ({manifest.database.exclusion_reason})"
        )
    for docs in manifest.documents:
        excluded.append(
            f"  files in {docs.claim} matching " + ", ".join(docs.exclude_patterns)
            + f" ({docs.exclusion_reason})"
        )
    excluded_text = "\n".join(excluded) or "  nothing"
    return f"""\
BACKUP OF YOUR DATA — {manifest.exit_name}
{"=" * (18 + len(manifest.exit_name))}

THIS BACKUP CANNOT RESTORE THE APPLICATION.
It is an archive for your legal retention duty (medical records must be kept
for many years) and for analysis. It is not a restore point: there is no way
to restart or restore the application from it.

What is inside ({totals.tables} tables, {totals.rows} rows, {totals.files} documents)
  manifest.json                                    (this backup's table of contents)
{objects}

Left out on purpose
{excluded_text}

0. Download exactly this folder
     {where}
   (for example: aws s3 cp --recursive {where} ./backup/). Other attempt-*
   folders next to it hold failed attempts: do not use them.

1. Verify what you downloaded
   The SHA-256 of manifest.json is:
     {manifest_sha256}
   Check it:   sha256sum manifest.json
   Then check every file against the manifest, either with the operator's tool:
     tenant-exit verify --directory . manifest.json
   or by comparing `sha256sum <file>` with the "sha256" of each object in
   manifest.json. When everything matches, confirm receipt by quoting the
   manifest digest above: only then will the platform delete your environment.

2. Decrypt and decompress (tools: age, https://age-encryption.org, and zstd)
     age --decrypt -i your-identity.txt database-<schema>.sql.zst.age | zstd -d > <schema>.sql
     age --decrypt -i your-identity.txt documents-<claim>.tar.zst.age | zstd -d | tar -x
   Only the holder of the private age identity matching the recipients in
   manifest.json can decrypt; the platform never had that key.

3. Read the data
   The SQL dump is in MySQL 5.7/8.0 dialect: load it into an empty schema of a
   MySQL or MariaDB server (mysql <schema> < <schema>.sql). The data dictionary
   (data-dictionary.md / .json) describes every table and column.
   Or, in one step, with the tenant-exit tool (a Python package your platform
   contact gives you: pip install <the package file>; no Kubernetes needed):
     tenant-exit load manifest.json --identity your-identity.txt --host <server> --user <you>
   which verifies, decrypts, loads without needing SUPER (DEFINER clauses are
   stripped) and compares every table's row count with this manifest.

4. After the deletion
   Your platform contact sends you deletion-certificate.json, the certificate of
   destruction; it is also stored in the folder above once the deletion is done.

Manifest: {manifest_key}
Backup completed: {manifest.completed_at.isoformat()}
"""


def write_readme(client: S3Client, bucket: str, manifest_key: str, manifest: Manifest,
                 manifest_sha256: str) -> str:
    """Stores README.txt next to the manifest; returns its key."""
    key = beside_manifest(manifest_key, README_NAME)
    client.put_object(
        Bucket=bucket, Key=key, ContentType="text/plain; charset=utf-8",
        Body=render_readme(manifest, manifest_key, manifest_sha256, bucket).encode(),
    )
    return key
