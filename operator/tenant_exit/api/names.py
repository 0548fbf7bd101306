"""Names shared by the operator, the generated manifests and the tests.

The API group, the labels and annotations the guards write, and the finalizers.
Kept in one module so the admission policy, the operator and the tests can
never disagree about a label key.
"""

from __future__ import annotations

from typing import Final

GROUP: Final = "tenantexit.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "TenantExit"
PLURAL: Final = "tenantexits"
SINGULAR: Final = "tenantexit"
SHORT_NAME: Final = "texit"
CRD_NAME: Final = f"{PLURAL}.{GROUP}"
# The periodic extraction's resources (api/datamodel.py, api/extraction.py).
DATAMODEL_PLURAL: Final = "datamodels"
EXTRACTION_PLURAL: Final = "tenantextractions"
# The platform's defaults and limits (api/exit_class.py).
CLASS_PLURAL: Final = "tenantexitclasses"

# On the tenant Namespace (docs/architecture.md, "The guards").
NAMESPACE_FINALIZER: Final = f"{GROUP}/guard"
LABEL_DELETION: Final = f"{GROUP}/deletion"
LABEL_EXIT: Final = f"{GROUP}/exit"
DELETION_BLOCKED: Final = "blocked"
DELETION_ALLOWED: Final = "allowed"
# The phase is mirrored on the Namespace so the admission policy, which cannot
# read the TenantExit, can name it in its denial message.
ANNOTATION_PHASE: Final = f"{GROUP}/phase"

# On PersistentVolumes: the reclaim policy before the exit switched it to Retain.
ANNOTATION_ORIGINAL_RECLAIM: Final = f"{GROUP}/original-reclaim-policy"
# On the app-flag ConfigMap: the key's value before the exit set it (JSON).
ANNOTATION_ORIGINAL_APP_FLAG: Final = f"{GROUP}/original-app-flag"

# On objects the operator creates for an exit (Jobs, copied Secrets, records).
LABEL_COMPONENT: Final = f"{GROUP}/component"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "tenant-exit-operator"

# kopf's finalizer on the TenantExit itself: holds its deletion until a cancel
# has reverted everything (or, from Deleting on, until the exit completed).
EXIT_FINALIZER: Final = f"{GROUP}/exit"


def backup_job_name(exit_name: str, attempt: int) -> str:
    """The Job of one backup attempt: deterministic, so a re-run finds it (409)."""
    return f"{exit_name}-backup-{attempt}"


def verify_job_name(exit_name: str, attempt: int) -> str:
    """The Job (and its plan Secret) that reads attempt `attempt`'s backup back, in
    the operator's namespace; as long as the backup Job's name."""
    return f"{exit_name}-verify-{attempt}"


# --- identities in object keys (issue 10) ----------------------------------------
UID_IN_KEY: Final = 8
"""Characters of the TenantExit UID in its folder name: enough to tell a
recreated exit of the same name from the old one, short enough to read."""


def key_prefix(prefix: str) -> str:
    """The destination prefix as keys use it: no leading `/`, a trailing one if set."""
    prefix = prefix.lstrip("/")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def exit_folder(prefix: str, exit_name: str, exit_uid: str) -> str:
    """`<prefix><exit>-<uid8>/`: every object of one TenantExit, all attempts. The
    UID keeps a recreated exit of the same name from finding the old one's backup."""
    return f"{key_prefix(prefix)}{exit_name}-{exit_uid[:UID_IN_KEY]}/"


def attempt_folder(exit_folder: str, attempt: int) -> str:
    """`<exit folder>attempt-<n>/`: a retry writes next to, never over, a failed one."""
    return f"{exit_folder}attempt-{attempt}/"
