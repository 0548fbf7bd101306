"""English texts for the customer (see texts.py for the fields)."""

from __future__ import annotations

from tenant_exit.storage.texts import Texts

README = """\
{title}
{underline}

THIS BACKUP CANNOT RESTORE THE APPLICATION.
It is an archive for your legal retention duty (medical records must be kept
for many years) and for analysis. It is not a restore point: there is no way
to restart or restore the application from it.

{request}

What is inside ({tables} tables, {rows} rows, {files} documents)
  manifest.json                                    (this backup's table of contents)
{objects}

Left out on purpose
{excluded}

0. Download exactly this folder
     {where}
   (for example: aws s3 cp --recursive {where} ./backup/). Other attempt-*
   folders next to it hold failed attempts: do not use them.

1. Verify the signature and the digests of what you downloaded
   The platform signed manifest.json (signature in manifest.json.sig) with
   this public key:
     {public_key}
   One command checks the signature and every file against the manifest:
     tenant-exit verify --public-key {public_key} --directory . manifest.json
   The SHA-256 of manifest.json is:
     {manifest_sha256}
   (check it with: sha256sum manifest.json). Without the tool, compare
   `sha256sum <file>` with the "sha256" of each object in manifest.json.

2. Decrypt and decompress (tools: age, https://age-encryption.org, and zstd)
     age --decrypt -i your-identity.txt database-<schema>.sql.zst.age | zstd -d > <schema>.sql
     age --decrypt -i your-identity.txt documents-<claim>.tar.zst.age | zstd -d > <claim>.tar
   Only the holder of the private age identity matching the recipients in
   manifest.json can decrypt; the platform never had that key.{classical_note}

3. Check the decrypted files
   Compare `sha256sum <schema>.sql` and `sha256sum <claim>.tar` with the
   "plaintextSha256" of each object in manifest.json.

4. Confirm receipt
   When everything matches, confirm receipt by quoting the manifest digest
   above: only then will the platform delete your environment.

5. Read the data
   The SQL dump is in the source server's own dialect ("serverFamily" in
   manifest.json: mysql or mariadb): load it into an empty schema of a server
   of that family, same or newer version (mysql <schema> < <schema>.sql),
   created with the schema's "characterSet" and "collation" from
   manifest.json. Unpack documents
   with tar -xf <claim>.tar. The data dictionary (data-dictionary.md / .json)
   describes every table and column.
   Or, in one step, with the tenant-exit tool (a Python package your platform
   contact gives you: pip install <the package file>; no Kubernetes needed):
     tenant-exit load manifest.json --identity your-identity.txt --host <server> --user <account>
   which verifies, decrypts, loads without needing SUPER (DEFINER clauses are
   stripped) and compares every table's row count with this manifest.

6. After the deletion
   Your platform contact sends you deletion-certificate.json, the certificate of
   destruction, signed like the manifest (deletion-certificate.json.sig); it is
   also stored in the folder above once the deletion is done. Check it with the
   same tenant-exit verify command as in step 1, run in a folder holding both.

Manifest: {manifest_key}
Backup completed: {completed_at}
"""

TEXTS = Texts(
    language="en",
    readme_title="BACKUP OF YOUR DATA — {exit_name}",
    readme=README,
    readme_where_unknown="the folder of manifest.json",
    readme_request=(
        "Your request\n"
        "  This exit was made at your request: ticket {ticket}, requested by\n"
        "  {requested_by} on {requested_at}."
    ),
    readme_no_request="Your request\n  No request reference was recorded for this exit.",
    excluded_tables="  database tables matching {patterns} ({reason}); exactly these, none of\n"
                    "  them is in this backup:",
    excluded_table="    {schema}.{table}: {rows} rows, left out by the rule {pattern}",
    excluded_table_no_rows="    {schema}.{table}: no rows (a view or sequence), left out by the "
                           "rule {pattern}",
    excluded_files="  files in {claim} matching {patterns} ({reason})",
    excluded_nothing="  nothing",
    classical_note="""
   NOTE: this backup is encrypted to classical (X25519) age keys only. A
   future quantum computer might decrypt it within the 20 years it must be
   kept. For the long term, re-encrypt it to a post-quantum key
   (age-keygen -pq, age 1.3 or newer): decrypt, then age -r age1pq1... .""",
    restore_verified=(
        "Restore test\n------------\n"
        "While the database was dumped, the same SQL was loaded into a scratch database "
        "server ({scratch}) and compared with the source: {tables} tables ({rows} rows, row "
        "count and content digest per table) and {definitions} definitions (tables, views, "
        "routines, triggers, events) matched. The details are in manifest.json, section "
        "\"verification\". This proves that the archive loads into a database server. It "
        "does NOT mean the application can be restored from this backup: it cannot.\n"),
    retention_note=(
        "Write protection\n----------------\n"
        "Every object of this backup and manifest.json are under S3 Object Lock ({mode}) "
        "until at least {retain_until}: until then no one can delete or overwrite them in "
        "this bucket. The date is extended when you confirm receipt, to cover the grace "
        "period before the deletion.\n"),
    restore_unknown=(
        "Restore test\n------------\n"
        "The archive was NOT test-loaded into a database server ({reason}); its objects are "
        "verified by their digests only. It cannot restore the application.\n"),
    restore_off=(
        "Restore test\n------------\n"
        "The archive was NOT test-loaded into a database server: the test was switched off "
        "({off_reason}). Its objects are verified by their digests only. It cannot restore "
        "the application.\n"),
    certificate_summary="""\
Certificate of destruction for {exit_name}

The tenant environment {exit_name} was deleted irreversibly on {completed_at}.
Deleted: the namespace {namespace} (uid {namespace_uid}) with everything in it,
{volumes} persistent volume(s) with their data and {databases} database schema(s).
{request}
The deletion followed the confirmation by {confirmed_by} on {confirmed_at}
that the backup was received; that backup's manifest.json has SHA-256
{manifest_sha256}.
""",
    certificate_request="It was requested in ticket {ticket} by {requested_by} on {requested_at}.",
    certificate_no_request="No request reference was recorded for this exit.",
)
