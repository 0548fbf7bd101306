"""`tenant-exit operator`: run kopf cluster-wide with a liveness endpoint, Prometheus
metrics (when TENANT_EXIT_METRICS_PORT is set) and structured (JSON) logs;
configuration from TENANT_EXIT_* env (settings.py)."""

from __future__ import annotations

import logging

import kopf

from tenant_exit import metrics
from tenant_exit.settings import OperatorSettings


def run_operator() -> int:
    settings = OperatorSettings()
    kopf.configure(
        log_format=kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL,
        verbose=False,
    )
    # kubernetes' urllib3 logs request lines at DEBUG; keep them out even when verbose.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    import tenant_exit.extraction_handlers  # DataModel, TenantExtraction
    import tenant_exit.handlers  # noqa: F401 - registers the handlers with kopf

    if settings.metrics_port is not None:
        metrics.serve(settings.metrics_port)
    kopf.run(
        clusterwide=True,
        standalone=settings.peering_name is None,
        peering_name=settings.peering_name,
        priority=settings.priority,
        liveness_endpoint=f"http://0.0.0.0:{settings.liveness_port}/healthz",
    )
    return 0
