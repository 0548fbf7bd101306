"""Object keys of one backup attempt, decided purely.

    <prefix><exit>/attempt-<n>/database-<schema>.sql.zst.age
                              documents-<claim>.tar.zst.age
                              data-dictionary.json.zst.age
                              data-dictionary.md.zst.age
                              manifest.json                  (plaintext, written last)

Every data-bearing object is encrypted, the data dictionary too: table and
column comments in a care record can hint at a client's condition. Only the
manifest (names, counts, digests) is plaintext, so anyone can verify the
objects without the customer's identity. Keys are per attempt: a retry writes
next to, never over, a failed attempt's leftovers.
"""

from __future__ import annotations

from urllib.parse import quote

DATA_SUFFIX = ".zst.age"


def _safe(name: str) -> str:
    # Schema names may hold characters that are awkward in keys and file names
    # once downloaded; percent-encoding is reversible and unambiguous.
    return quote(name, safe="-_.")


def database_key(object_prefix: str, schema: str) -> str:
    return f"{object_prefix}database-{_safe(schema)}.sql{DATA_SUFFIX}"


def documents_key(object_prefix: str, claim: str) -> str:
    return f"{object_prefix}documents-{_safe(claim)}.tar{DATA_SUFFIX}"


def dictionary_key(object_prefix: str, fmt: str) -> str:
    return f"{object_prefix}data-dictionary.{fmt}{DATA_SUFFIX}"
