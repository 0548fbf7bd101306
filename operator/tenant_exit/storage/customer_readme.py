"""README.txt for the customer, stored next to the backup.

The receiving care organisation may have no one who knows this platform: the
file says what is inside, how to verify it, how to decrypt it, and — plainly —
that it cannot restore the application, in the customer's language (the words
are in texts_en / texts_nl). Pure rendering plus one upload.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tenant_exit.api.types import human_size, is_post_quantum
from tenant_exit.storage.manifest import Manifest, RequestRecord, beside_manifest
from tenant_exit.storage.texts import Texts, texts_for

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

README_NAME = "README.txt"


def attempt_folder(manifest_key: str) -> str:
    """The folder of this backup's attempt (`<prefix><exit>/attempt-<n>/`): what to
    download. The spec's prefix holds every attempt, failed ones included."""
    folder, _, _ = manifest_key.rpartition("/")
    return f"{folder}/" if folder else ""


def request_text(request: RequestRecord | None, texts: Texts) -> str:
    if request is None:
        return texts.readme_no_request
    return texts.readme_request.format(ticket=request.ticket, requested_by=request.requested_by,
                                       requested_at=request.requested_at.isoformat())


def excluded_table_lines(manifest: Manifest, texts: Texts) -> list[str]:
    """Every table left out of the dump, with its rows and the rule that excluded it:
    the customer sees what is *not* in the archive before confirming receipt."""
    if manifest.database is None:
        return []
    lines = []
    for schema in manifest.database.schemas:
        for table in schema.excluded_tables:
            if table.rows is None:
                lines.append(texts.excluded_table_no_rows.format(
                    schema=schema.name, table=table.name, pattern=table.pattern))
            else:
                lines.append(texts.excluded_table.format(
                    schema=schema.name, table=table.name, rows=table.rows,
                    pattern=table.pattern))
    return lines


def render_readme(manifest: Manifest, manifest_key: str, manifest_sha256: str,
                  public_key: str, bucket: str | None = None, language: str = "en") -> str:
    """README.txt in the customer's language (spec.customer.language)."""
    texts = texts_for(language)
    where = f"s3://{bucket}/{attempt_folder(manifest_key)}" if bucket else (
        attempt_folder(manifest_key) or texts.readme_where_unknown)
    objects = "\n".join(
        f"  {obj.key.rsplit('/', 1)[-1]:<48} {human_size(obj.size):>10}  sha256 {obj.sha256}"
        for obj in manifest.objects
    )
    totals = manifest.totals
    excluded = []
    if manifest.database:
        excluded.append(texts.excluded_tables.format(
            patterns=", ".join(manifest.database.exclude_patterns),
            reason=manifest.database.exclusion_reason))
        excluded += excluded_table_lines(manifest, texts)
    excluded += [
        texts.excluded_files.format(claim=docs.claim, patterns=", ".join(docs.exclude_patterns),
                                    reason=docs.exclusion_reason)
        for docs in manifest.documents
    ]
    classical_note = "" if all(
        is_post_quantum(r) for r in manifest.encryption.recipients) else texts.classical_note
    title = texts.readme_title.format(exit_name=manifest.exit_name)
    body = texts.readme.format(
        title=title, underline="=" * len(title),
        tables=totals.tables, rows=totals.rows, files=totals.files,
        request=request_text(manifest.request, texts),
        objects=objects, excluded="\n".join(excluded) or texts.excluded_nothing,
        where=where, public_key=public_key, manifest_sha256=manifest_sha256,
        classical_note=classical_note, manifest_key=manifest_key,
        completed_at=manifest.completed_at.isoformat(),
    )
    sections = [body.rstrip()]
    restore = restore_text(manifest, texts)
    if restore:
        sections.append(restore.rstrip())
    if manifest.retention is not None:
        sections.append(texts.retention_note.format(
            mode=manifest.retention.mode,
            retain_until=manifest.retention.retain_until.isoformat()).rstrip())
    if len(sections) == 1:
        return body
    return "\n\n".join(sections) + "\n"


def restore_text(manifest: Manifest, texts: Texts) -> str:
    """The restore verification's summary (issue 13); '' for older manifests."""
    v = manifest.verification
    if v is None:
        return ""
    if v.status == "Verified":
        scratch = " ".join(x for x in (v.scratch_family, v.scratch_version) if x)
        return texts.restore_verified.format(
            tables=len(v.tables), rows=sum(t.source_rows for t in v.tables),
            definitions=len(v.definitions), scratch=scratch or v.scratch_image or "")
    if v.status == "Off":
        return texts.restore_off.format(off_reason=v.off_reason or v.reason)
    return texts.restore_unknown.format(reason=v.reason)


def write_readme(client: S3Client, bucket: str, manifest_key: str, manifest: Manifest,
                 manifest_sha256: str, public_key: str, language: str = "en") -> str:
    """Stores README.txt next to the manifest; returns its key."""
    key = beside_manifest(manifest_key, README_NAME)
    client.put_object(
        Bucket=bucket, Key=key, ContentType="text/plain; charset=utf-8",
        Body=render_readme(manifest, manifest_key, manifest_sha256, public_key, bucket,
                           language).encode(),
    )
    return key
