"""Where a run's objects go: one immutable dated folder per run, and `latest/`.

    <prefix>runs/<YYYY-MM-DDTHH-MM-SSZ>/tables/<table>.parquet[.age]
                                       /csv/<table>.csv[.age]        (optional)
                                       /model/datamodel.md|.json|.svg|.mmd, changelog.md
                                       /drift-report.json
                                       /manifest.json                 (written last)
    <prefix>latest/model/...  and  <prefix>latest/manifest.json   (after the run is complete)

The folder is named by the run's *scheduled* time, so a Job that runs again
after a crash writes the same folder (idempotent), and a folder with a
manifest is complete and never written again.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

RUNS = "runs/"
LATEST = "latest/"
MANIFEST = "manifest.json"
_STAMP = "%Y-%m-%dT%H-%M-%SZ"
_STAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$")


def run_stamp(scheduled_at: datetime) -> str:
    return scheduled_at.astimezone(UTC).strftime(_STAMP)


def is_stamp(text: str) -> bool:
    return bool(_STAMP_RE.match(text))


def run_folder(prefix: str, scheduled_at: datetime) -> str:
    return f"{prefix}{RUNS}{run_stamp(scheduled_at)}/"


def table_key(folder: str, table: str, *, encrypted: bool, csv: bool = False) -> str:
    name = f"csv/{table}.csv" if csv else f"tables/{table}.parquet"
    return folder + name + (".age" if encrypted else "")


def model_key(folder: str, name: str) -> str:
    return f"{folder}model/{name}"


def latest_folder(prefix: str) -> str:
    return prefix + LATEST
