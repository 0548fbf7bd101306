"""What a backup leaves out unless the spec says otherwise.

One list for the spec's defaults (and so the CRD schema) and for the worker's,
so a Job built without these fields excludes the same as `kubectl explain` says.
"""

from __future__ import annotations

from typing import Final

DEFAULT_EXCLUDE_TABLES: Final = ("*.audit_*", "*.*_log", "*.import_*", "*.export_*")
"""`schema.table` globs: logging and import/export tables (data, not logs, is kept)."""
DEFAULT_DOCUMENT_EXCLUDES: Final = ("import/**", "export/**", "tmp/**")
"""Globs relative to a document volume's root: folders of files in transit."""
