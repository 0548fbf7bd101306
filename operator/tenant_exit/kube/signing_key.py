"""The operator's Ed25519 signing key, kept in a Secret in its own namespace.

The key never enters a tenant namespace (the backup Job there writes the
manifest; the operator signs it after verifying it). It is created on first
start when absent; two replicas starting together race on the create, and the
loser (409) reads the winner's key, so there is only ever one key.

Rotation (`tenant-exit public-key --rotate`): a new key becomes active, the
old private key is dropped, and its public key stays listed under
`publicKeys`, so signatures made before the rotation remain verifiable with
the published keys. Replacing uses the read resourceVersion: a concurrent
rotation fails with 409 instead of losing a key.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field

from kubernetes import client
from kubernetes.client import models as k

SECRET_NAME = "tenant-exit-signing-key"  # noqa: S105 - a Secret's name, not a secret
PRIVATE_KEY = "private.pem"
PUBLIC_KEY = "publicKey"
KEY_ID = "keyId"
PUBLIC_KEYS = "publicKeys"
"""Every public key this Secret has held, one a line, the active one last."""


@dataclass(frozen=True)
class StoredKey:
    """The Secret's content; the cryptography lives in storage/signing."""

    private_pem: str = field(repr=False)
    public_key: str
    key_id: str


NewKey = Callable[[], StoredKey]


def _read(core: client.CoreV1Api, namespace: str) -> k.V1Secret | None:
    try:
        return core.read_namespaced_secret(SECRET_NAME, namespace)
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise


def _field(secret: k.V1Secret, key: str) -> str:
    data = secret.data or {}
    if key not in data:
        raise LookupError(f"Secret {secret.metadata.namespace}/{secret.metadata.name} "
                          f"has no key {key!r}")
    return base64.b64decode(data[key]).decode()


def _body(namespace: str, key: StoredKey, history: list[str],
          resource_version: str | None = None) -> k.V1Secret:
    keys = [*[line for line in history if line != key.public_key], key.public_key]
    return k.V1Secret(
        metadata=k.V1ObjectMeta(
            name=SECRET_NAME, namespace=namespace, resource_version=resource_version,
            labels={"app.kubernetes.io/name": "tenant-exit-operator",
                    "app.kubernetes.io/component": "signing-key"}),
        type="Opaque",
        string_data={PRIVATE_KEY: key.private_pem, PUBLIC_KEY: key.public_key,
                     KEY_ID: key.key_id, PUBLIC_KEYS: "\n".join(keys) + "\n"},
    )


def _stored(secret: k.V1Secret) -> StoredKey:
    return StoredKey(_field(secret, PRIVATE_KEY), _field(secret, PUBLIC_KEY),
                     _field(secret, KEY_ID))


def ensure_signing_key(core: client.CoreV1Api, namespace: str, new: NewKey) -> StoredKey:
    """The active key; created (by `new`) when the Secret does not exist yet."""
    secret = _read(core, namespace)
    if secret is None:
        key = new()
        try:
            core.create_namespaced_secret(namespace, _body(namespace, key, []))
            return key
        except client.ApiException as error:
            if error.status != 409:
                raise
        secret = _read(core, namespace)
        if secret is None:
            raise LookupError(f"Secret {namespace}/{SECRET_NAME} vanished while being created")
    return _stored(secret)


def published_keys(core: client.CoreV1Api, namespace: str) -> list[str]:
    """Every public key (text form) that may have signed an artefact, active last."""
    secret = _read(core, namespace)
    if secret is None:
        raise LookupError(f"Secret {namespace}/{SECRET_NAME} does not exist: the operator "
                          "creates it when it first starts")
    return [line for line in _field(secret, PUBLIC_KEYS).splitlines() if line.strip()]


def rotate_signing_key(core: client.CoreV1Api, namespace: str, new: NewKey) -> StoredKey:
    """Make a new key active; earlier public keys stay published."""
    secret = _read(core, namespace)
    if secret is None:
        return ensure_signing_key(core, namespace, new)
    history = [line for line in _field(secret, PUBLIC_KEYS).splitlines() if line.strip()]
    key = new()
    core.replace_namespaced_secret(
        SECRET_NAME, namespace,
        _body(namespace, key, history, resource_version=secret.metadata.resource_version))
    return key
