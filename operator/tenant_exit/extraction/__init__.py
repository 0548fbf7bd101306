"""The periodic extraction (docs/extraction.md).

Operator side: `decide` (pure schedule decisions), `reconcile` (the pass the
handler calls), `validate` (sqlglot + a live LIMIT 0), `jobs` (the run Job).
Job side (`tenant-exit worker extract`): `run`, `snapshot`, `parquet`,
`pseudonym`, `modeldocs`, `layout`, `retention`. The Job side never imports
kopf (import-linter contract).
"""
