"""Detached Ed25519 signatures for what the customer relies on: `manifest.json`
and the certificate of destruction (docs/security.md, "Signed manifest and
certificate").

Anyone with write access to the bucket could rewrite an unsigned manifest or
certificate; a signature by the operator's key, checked with only its public
key, lets the customer (and an auditor, years later) tell. The signature sits
beside the signed object as `<name>.sig`, a small JSON document:

    {"format": "tenant-exit-signature/v1", "algorithm": "Ed25519",
     "keyId": "…", "signedObject": "manifest.json", "signedSha256": "…",
     "signature": "<base64 of the 64-byte signature over the object's bytes>"}

Rotation: the key id (first 16 hex digits of the SHA-256 of the raw public
key) names the key that signed, so a verifier holding several published public
keys (the current one and retired ones) picks the right one, and a signature
made before a rotation stays verifiable. The public key's text form is
`ed25519:<base64 of the 32 raw bytes>`, one line to paste into a command.

Pure functions plus one upload; `cryptography` does the cryptography.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FORMAT = "tenant-exit-signature/v1"
ALGORITHM = "Ed25519"
SIGNATURE_SUFFIX = ".sig"
_PUBLIC_PREFIX = "ed25519:"


class SignatureProblem(ValueError):
    """A key or signature file that cannot be read."""


def signature_key(object_key: str) -> str:
    """The detached signature's key (or file name) beside the signed object."""
    return object_key + SIGNATURE_SUFFIX


def public_key_text(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _PUBLIC_PREFIX + base64.b64encode(raw).decode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    text = text.strip()
    if not text.startswith(_PUBLIC_PREFIX):
        raise SignatureProblem(f"a public key starts with {_PUBLIC_PREFIX!r}: {text[:40]!r}")
    try:
        raw = base64.b64decode(text[len(_PUBLIC_PREFIX):], validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as error:
        raise SignatureProblem(f"not an Ed25519 public key: {text[:40]!r}") from error


def key_id(public_text: str) -> str:
    """Short, stable name of a public key (16 hex digits of its SHA-256)."""
    raw = base64.b64decode(public_text.strip()[len(_PUBLIC_PREFIX):])
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    """The operator's private key (never logged: repr hides it)."""

    private: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise SignatureProblem("the signing key is not an Ed25519 private key")
        return cls(key)

    def to_pem(self) -> bytes:
        return self.private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())

    @property
    def public_text(self) -> str:
        return public_key_text(self.private.public_key())

    @property
    def key_id(self) -> str:
        return key_id(self.public_text)

    def stored(self) -> tuple[str, str, str]:
        """(private PEM, public key text, key id): what the key's Secret holds."""
        return self.to_pem().decode(), self.public_text, self.key_id

    def sign(self, data: bytes, signed_object: str) -> bytes:
        """The detached signature file for `data` (the exact stored bytes)."""
        document = {
            "format": FORMAT,
            "algorithm": ALGORITHM,
            "keyId": self.key_id,
            "signedObject": signed_object,
            "signedSha256": hashlib.sha256(data).hexdigest(),
            "signature": base64.b64encode(self.private.sign(data)).decode(),
        }
        return (json.dumps(document, indent=2) + "\n").encode()


@dataclass(frozen=True)
class SignatureCheck:
    ok: bool
    key_id: str | None
    problem: str | None = None
    """Why the signature does not hold; None when it does."""


def verify(data: bytes, signature_file: bytes, trusted: Iterable[str]) -> SignatureCheck:
    """Check `signature_file` over `data` with one of the `trusted` public keys
    (their text form), chosen by the signature's key id. Never raises for bad
    input: a forged or damaged file is a failed check with a reason."""
    try:
        document = json.loads(signature_file)
        signed_by = str(document["keyId"])
        signature = base64.b64decode(document["signature"], validate=True)
        if document.get("algorithm") != ALGORITHM:
            return SignatureCheck(False, signed_by,
                                  f"algorithm {document.get('algorithm')!r}, expected Ed25519")
    except (ValueError, KeyError, TypeError, binascii.Error):
        return SignatureCheck(False, None, "the signature file is not a tenant-exit signature")
    keys = {key_id(text): text for text in trusted}
    if signed_by not in keys:
        known = ", ".join(sorted(keys)) or "none"
        return SignatureCheck(False, signed_by,
                              f"signed by key {signed_by}, which is not a trusted key "
                              f"(trusted: {known})")
    try:
        parse_public_key(keys[signed_by]).verify(signature, data)
    except InvalidSignature:
        return SignatureCheck(False, signed_by,
                              f"the signature by key {signed_by} does not match the bytes: "
                              "the object was changed after it was signed")
    return SignatureCheck(True, signed_by)


def write_signature(client: S3Client, bucket: str, object_key: str, data: bytes,
                    key: SigningKey) -> str:
    """Stores `<object_key>.sig` for `data`; returns its key. Ed25519 is
    deterministic, so a retried write stores the same bytes."""
    sig_key = signature_key(object_key)
    client.put_object(Bucket=bucket, Key=sig_key, ContentType="application/json",
                      Body=key.sign(data, object_key.rsplit("/", 1)[-1]))
    return sig_key


@dataclass(frozen=True)
class ArtefactCheck:
    name: str
    """The signed object's key or file name."""
    ok: bool
    problem: str | None = None
    key_id: str | None = None


def check_artefact(name: str, data: bytes | None, signature_file: bytes | None,
                   trusted: Iterable[str]) -> ArtefactCheck:
    """One signed object (manifest or certificate) as read from the bucket or a
    directory; `None` for what could not be found."""
    if data is None:
        return ArtefactCheck(name, False, "missing")
    if signature_file is None:
        return ArtefactCheck(name, False, f"no signature ({signature_key(name)} is missing)")
    check = verify(data, signature_file, trusted)
    return ArtefactCheck(name, check.ok, check.problem, check.key_id)
