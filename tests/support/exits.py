"""TenantExit bodies for tests: a valid example and a way to vary it."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from tenant_exit.api.resource import TenantExit

AGE_RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
DIGEST = "9f2c" + "0" * 60


def example_spec(namespace: str = "tenant-zorggroep-noord") -> dict[str, Any]:
    return {
        "tenantNamespace": namespace,
        "readOnly": {
            "until": "2027-03-01T00:00:00Z",
            "database": "RevokeWrites",
            "appFlag": {"configMap": "app-settings", "key": "READ_ONLY"},
        },
        "database": {
            "host": "mysql.tenant-zorggroep-noord.svc",
            "port": 3306,
            "credentialsSecret": "exit-dump-credentials",
            "databases": ["ons"],
            "excludeTables": ["*.audit_*", "*.import_*", "*.export_*"],
        },
        "documents": [{"claimName": "client-documents", "exclude": ["import/**", "tmp/**"]}],
        "destination": {
            "s3": {
                "bucket": "tenant-exits",
                "prefix": "zorggroep-noord/",
                "endpoint": "https://objects.example.net",
                "region": "eu-west-1",
                "credentialsSecret": {"namespace": "tenant-exit-system", "name": "exit-s3"},
            },
            "encryption": {"ageRecipients": [AGE_RECIPIENT]},
        },
        "deletion": {"gracePeriod": "72h"},
    }


def body(
    name: str = "zorggroep-noord",
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    generation: int = 1,
    created: datetime | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "uid": f"uid-{name}", "generation": generation}
    if created is not None:
        metadata["creationTimestamp"] = created.isoformat()
    return {
        "apiVersion": "tenantexit.io/v1alpha1",
        "kind": "TenantExit",
        "metadata": metadata,
        "spec": copy.deepcopy(spec if spec is not None else example_spec()),
        "status": status or {},
    }


def make_exit(**kwargs: Any) -> TenantExit:
    return TenantExit.from_body(body(**kwargs))
