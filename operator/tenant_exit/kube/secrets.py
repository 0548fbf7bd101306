"""Secrets the exit reads or copies. Values never leave this module except to the
API server or the database driver; errors name the Secret and key, not the value."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kubernetes import client
from kubernetes.client import models as k

from tenant_exit.api.owner import Owner
from tenant_exit.api.spec import SecretReference
from tenant_exit.kube.errors import tolerate
from tenant_exit.kube.ownership import owned_labels, owner_reference

# The keys of the destination Secret, and of its copy the backup Job reads.
S3_ACCESS_KEY = "accessKeyId"
S3_SECRET_KEY = "secretAccessKey"  # noqa: S105 - a key name, not a secret
# Only in the tenant namespace's copy, with session credentials (uploadCredentials
# Scoped): the token and when the session ends (RFC 3339, UTC).
S3_SESSION_TOKEN = "sessionToken"  # noqa: S105 - a key name, not a secret
S3_EXPIRATION = "expiration"


def s3_secret_name(owner_name: str) -> str:
    """The copy of the destination credentials in the tenant namespace."""
    return f"{owner_name}-destination-credentials"


class SecretProblem(Exception):
    """A Secret is missing or lacks a key: fixed by the user, not by retrying soon."""


@dataclass(frozen=True)
class DatabaseCredentials:
    username: str
    password: str = field(repr=False)


def _read_keys(core: client.CoreV1Api, namespace: str, name: str, keys: list[str]) -> list[str]:
    try:
        secret = core.read_namespaced_secret(name, namespace)
    except client.ApiException as error:
        if error.status == 404:
            raise SecretProblem(f"Secret {namespace}/{name} does not exist") from None
        raise
    data = secret.data or {}
    missing = [key for key in keys if key not in data]
    if missing:
        raise SecretProblem(f"Secret {namespace}/{name} has no key {missing[0]!r}")
    return [base64.b64decode(data[key]).decode() for key in keys]


def database_credentials(core: client.CoreV1Api, namespace: str,
                         secret: str) -> DatabaseCredentials:
    """The dump account's keys from Secret `namespace/secret`."""
    username, password = _read_keys(core, namespace, secret, ["username", "password"])
    return DatabaseCredentials(username=username, password=password)


@dataclass(frozen=True)
class S3Credentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)


def s3_credentials(core: client.CoreV1Api, source: SecretReference) -> S3Credentials:
    """The destination's keys, read at their source outside the tenant namespace."""
    access_key, secret_key = _read_keys(
        core, source.namespace, source.name, [S3_ACCESS_KEY, S3_SECRET_KEY]
    )
    return S3Credentials(access_key, secret_key)


def copy_s3_credentials(core: client.CoreV1Api, source: SecretReference, owner: Owner,
                        namespace: str) -> None:
    """Copy the two destination keys into `namespace` for the backup Job
    (uploadCredentials PlatformKeys only: they reach what the platform's keys reach).

    The source lives outside the tenant namespace (docs/architecture.md, "The guards");
    only the two keys the Job uses are copied, owned by `owner` so a cancel (or
    the owner's deletion) removes them."""
    access_key, secret_key = _read_keys(
        core, source.namespace, source.name, [S3_ACCESS_KEY, S3_SECRET_KEY]
    )
    # Replaced when it exists: rotated at the source since the last copy.
    put_secret(core, namespace, _upload_secret(owner, namespace, {
        S3_ACCESS_KEY: access_key, S3_SECRET_KEY: secret_key}))


def put_session_credentials(core: client.CoreV1Api, owner: Owner, namespace: str, *,
                            access_key_id: str, secret_access_key: str, session_token: str,
                            expiration: datetime) -> None:
    """Write upload session credentials into `namespace` for the backup Job, replacing
    an earlier session's (a renewal: kubelet updates the mounted files in place)."""
    put_secret(core, namespace, _upload_secret(owner, namespace, {
        S3_ACCESS_KEY: access_key_id, S3_SECRET_KEY: secret_access_key,
        S3_SESSION_TOKEN: session_token,
        S3_EXPIRATION: expiration.astimezone(UTC).isoformat().replace("+00:00", "Z")}))


def put_presigned_uploads(core: client.CoreV1Api, owner: Owner, namespace: str, *,
                          name: str, text: str) -> None:
    """Write the presigned-upload file (uploadCredentials Presigned) into `namespace`
    as the upload Secret's only key: no access key, secret key or token."""
    put_secret(core, namespace, _upload_secret(owner, namespace, {name: text}))


def _upload_secret_data(core: client.CoreV1Api, owner_name: str,
                        namespace: str) -> dict[str, str]:
    """The tenant namespace's upload Secret's data (base64 values); {} without one."""
    try:
        secret = core.read_namespaced_secret(s3_secret_name(owner_name), namespace)
    except client.ApiException as error:
        if error.status == 404:
            return {}
        raise
    return dict(secret.data or {})


def read_upload_file(core: client.CoreV1Api, owner_name: str, namespace: str,
                     name: str) -> str | None:
    """One key of the tenant namespace's upload Secret; None without the Secret or key."""
    raw = _upload_secret_data(core, owner_name, namespace).get(name)
    return base64.b64decode(raw).decode() if raw is not None else None


def upload_expiration(core: client.CoreV1Api, owner_name: str,
                      namespace: str) -> datetime | None:
    """When the session in the tenant namespace's upload Secret ends; None without
    a Secret or without a session (platform keys do not expire)."""
    raw = _upload_secret_data(core, owner_name, namespace).get(S3_EXPIRATION)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(base64.b64decode(raw).decode().replace("Z", "+00:00"))
    except ValueError:
        return None  # unreadable: treated as no session, so the next pass renews it


def _upload_secret(owner: Owner, namespace: str, data: dict[str, str]) -> k.V1Secret:
    return k.V1Secret(
        metadata=k.V1ObjectMeta(
            name=s3_secret_name(owner.name),
            namespace=namespace,
            labels=owned_labels(owner, "destination-credentials"),
            owner_references=[owner_reference(owner)],
        ),
        type="Opaque",
        string_data=data,
    )


def put_secret(core: client.CoreV1Api, namespace: str, body: k.V1Secret) -> None:
    """Create the Secret, or replace it when it exists (a re-run, or new content)."""
    try:
        core.create_namespaced_secret(namespace, body)
    except client.ApiException as error:
        if error.status != 409:
            raise
        core.replace_namespaced_secret(body.metadata.name, namespace, body)


def remove_s3_credentials(core: client.CoreV1Api, owner_name: str, namespace: str) -> None:
    with tolerate(404):
        core.delete_namespaced_secret(s3_secret_name(owner_name), namespace)
