"""`tenant-exit worker extract`: the run Job's entry point.

Exit status: 0 complete (manifest written), 3 schema drift (nothing written),
2 configuration, 1 any other failure (no manifest). The termination message is
one JSON line the operator folds into the TenantExtraction's status; every
message passes the redactor first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import ValidationError

from tenant_exit.api.worker_errors import WorkerErrorCode
from tenant_exit.extraction.run import SchemaDrift, run_extraction
from tenant_exit.extraction.settings import ExtractionSettings
from tenant_exit.storage.s3client import make_client
from tenant_exit.worker.main import describe_failure, failure_code
from tenant_exit.worker.progress import ProgressLog, secrets_from_env
from tenant_exit.worker.summary import failure_json, write_termination_message

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_SCHEMA_DRIFT = 3


def _drift_json(problems: list[str]) -> str:
    kept: list[str] = []
    for problem in problems:  # the termination message holds at most 4096 bytes
        if len(json.dumps([*kept, problem])) > 3500:
            break
        kept.append(problem)
    return json.dumps({"result": "SchemaDrift", "problems": kept,
                       "error": "schema drift: " + "; ".join(kept)},
                      ensure_ascii=False, separators=(",", ":"))


def run_extract() -> int:
    redact = secrets_from_env([os.environ.get("TENANT_EXIT_PSEUDONYM_KEY")])
    try:
        settings = ExtractionSettings()  # type: ignore[call-arg]  # fields come from env
    except ValidationError as err:
        problems = "; ".join(f"TENANT_EXIT_{'_'.join(str(p) for p in e['loc']).upper()}: "
                             f"{e['msg']}" for e in err.errors())
        message = redact(f"invalid extraction configuration: {problems}")
        ProgressLog(redact=redact).event("failed", error=message)
        path = os.environ.get("TENANT_EXIT_TERMINATION_LOG") or "/dev/termination-log"
        write_termination_message(Path(path),
                                  failure_json(WorkerErrorCode.CONFIG_INVALID, message))
        return EXIT_CONFIG
    log = ProgressLog(redact=redact)
    client = make_client(endpoint_url=settings.s3_endpoint, region=settings.s3_region)
    try:
        summary = run_extraction(settings, client, log)
    except SchemaDrift as drift:
        line = redact(_drift_json(drift.problems))
        log.event("schema-drift", problems=drift.problems)
        write_termination_message(settings.termination_log, line)
        return EXIT_SCHEMA_DRIFT
    except Exception as err:
        message = redact(describe_failure(err, f"s3://{settings.s3_bucket}"))
        log.event("failed", error=message)
        write_termination_message(settings.termination_log,
                                  failure_json(failure_code(err), message))
        return EXIT_FAILED
    write_termination_message(settings.termination_log, summary.to_json())
    log.event("done", summary=summary.to_json())
    return 0
