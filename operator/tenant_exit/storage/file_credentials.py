"""S3 credentials read from a mounted Secret's files, re-read before they expire.

The operator renews the backup Job's upload session by replacing its Secret
while the Job runs. Environment variables taken from a Secret are fixed at the
container's start, but kubelet updates the files of a mounted Secret volume in
place (within its sync period, about a minute), so the worker reads the
credentials from the files and botocore re-reads them (RefreshableCredentials)
once the session is within its advisory window (15 minutes) of the end.

The directory holds the keys of kube.secrets' upload Secret: `accessKeyId`,
`secretAccessKey`, and with a session `sessionToken` and `expiration` (RFC 3339).
Without `expiration` (platform keys) the credentials are static.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.credentials import (
    CredentialProvider,
    Credentials,
    RefreshableCredentials,
)
from botocore.session import Session

ACCESS_KEY = "accessKeyId"
SECRET_KEY = "secretAccessKey"  # noqa: S105 - a file name, not a secret
SESSION_TOKEN = "sessionToken"  # noqa: S105 - a file name, not a secret
EXPIRATION = "expiration"


class CredentialFilesMissing(Exception):
    """The mounted credentials lack a file; names the file, never a value."""


def _read(directory: Path, name: str) -> str | None:
    try:
        return (directory / name).read_text().strip()
    except FileNotFoundError:
        return None


def read_files(directory: Path) -> dict[str, Any]:
    """The credentials in `directory` in botocore's metadata form (pure but for the reads)."""
    access_key, secret_key = _read(directory, ACCESS_KEY), _read(directory, SECRET_KEY)
    for name, value in ((ACCESS_KEY, access_key), (SECRET_KEY, secret_key)):
        if not value:
            raise CredentialFilesMissing(f"no {name} in the mounted credentials {directory}")
    metadata: dict[str, Any] = {"access_key": access_key, "secret_key": secret_key,
                                "token": _read(directory, SESSION_TOKEN) or None}
    expiration = _read(directory, EXPIRATION)
    if expiration:
        # botocore parses the ISO string itself; checking here makes a bad file an
        # error that names it instead of one deep in a request.
        datetime.fromisoformat(expiration.replace("Z", "+00:00"))
        metadata["expiry_time"] = expiration
    return metadata


def secret_values(directory: str | None) -> list[str | None]:
    """The secret key and token now in `directory`, for the worker's redactor."""
    if not directory:
        return []
    return [_read(Path(directory), SECRET_KEY), _read(Path(directory), SESSION_TOKEN)]


class MountedSecretProvider(CredentialProvider):
    """botocore's provider chain entry for the mounted Secret."""

    METHOD = "tenant-exit-mounted-secret"
    CANONICAL_NAME = "TenantExitMountedSecret"

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self._directory = directory

    def load(self) -> Credentials:
        metadata = read_files(self._directory)
        if "expiry_time" not in metadata:
            return Credentials(metadata["access_key"], metadata["secret_key"],
                               metadata["token"], method=self.METHOD)
        return RefreshableCredentials.create_from_metadata(
            metadata, refresh_using=lambda: read_files(self._directory), method=self.METHOD)


def session_with_files(directory: Path | None) -> Session:
    """A botocore session whose credentials come from `directory` first (None: the
    default chain, environment variables included)."""
    session = Session()
    if directory is not None:
        resolver = session.get_component("credential_provider")
        resolver.insert_before("env", MountedSecretProvider(directory))
    return session
