"""The operator's signing-key Secret on the real control plane: created once
(also when two replicas race), read back unchanged, rotated with the earlier
public keys still published."""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client

from tenant_exit.kube import signing_key
from tenant_exit.reconcile.backup_store import new_signing_key
from tenant_exit.storage.signing import SigningKey, verify
from tests.localcluster.controlplane import ControlPlane

pytestmark = pytest.mark.cluster


@pytest.fixture
def namespace(control_plane: ControlPlane) -> Iterator[str]:
    core = client.CoreV1Api(control_plane.api_client())
    name = f"signing-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


def test_the_key_is_created_once_even_when_two_replicas_race(
    control_plane: ControlPlane, namespace: str
) -> None:
    core = client.CoreV1Api(control_plane.api_client())
    results: list[signing_key.StoredKey] = []
    start = threading.Barrier(4)

    def ensure() -> None:
        start.wait()
        results.append(signing_key.ensure_signing_key(core, namespace, new_signing_key))

    threads = [threading.Thread(target=ensure) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({r.public_key for r in results}) == 1, "every replica got the same key"
    again = signing_key.ensure_signing_key(core, namespace, new_signing_key)
    assert again == results[0]
    assert signing_key.published_keys(core, namespace) == [again.public_key]
    secret = core.read_namespaced_secret(signing_key.SECRET_NAME, namespace)
    assert set(secret.data) == {"private.pem", "publicKey", "keyId", "publicKeys"}


def test_rotation_keeps_old_signatures_verifiable(
    control_plane: ControlPlane, namespace: str
) -> None:
    core = client.CoreV1Api(control_plane.api_client())
    old = signing_key.ensure_signing_key(core, namespace, new_signing_key)
    signed_before = SigningKey.from_pem(old.private_pem.encode()).sign(b"manifest", "m.json")

    new = signing_key.rotate_signing_key(core, namespace, new_signing_key)

    assert new.key_id != old.key_id
    assert signing_key.ensure_signing_key(core, namespace, new_signing_key) == new
    published = signing_key.published_keys(core, namespace)
    assert published == [old.public_key, new.public_key]
    assert verify(b"manifest", signed_before, published).ok
    secret = core.read_namespaced_secret(signing_key.SECRET_NAME, namespace)
    stored = b"".join(base64.b64decode(v) for v in secret.data.values())
    assert old.private_pem.encode() not in stored, "the retired private key is gone"
    assert new.private_pem.encode() in stored
