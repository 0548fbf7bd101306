"""Detached Ed25519 signatures: what verifies, what is reported, and how a key
id keeps signatures made before a rotation verifiable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenant_exit.storage.signing import (
    SignatureProblem,
    SigningKey,
    check_artefact,
    key_id,
    parse_public_key,
    verify,
)
from tenant_exit.worker.verify import signature_checks

MANIFEST = b'{"format": "tenant-exit-backup/v1", "exitName": "zorggroep-noord"}\n'


def test_a_signature_verifies_with_only_the_public_key() -> None:
    key = SigningKey.generate()
    signature = key.sign(MANIFEST, "manifest.json")

    check = verify(MANIFEST, signature, [key.public_text])

    assert check.ok and check.key_id == key.key_id
    document = json.loads(signature)
    assert document["signedObject"] == "manifest.json" and document["algorithm"] == "Ed25519"
    assert "PRIVATE" not in signature.decode() and key.to_pem().decode() not in repr(key)


@pytest.mark.parametrize("position", [0, 17, len(MANIFEST) - 2])
def test_one_changed_byte_is_reported(position: int) -> None:
    key = SigningKey.generate()
    signature = key.sign(MANIFEST, "manifest.json")
    tampered = bytearray(MANIFEST)
    tampered[position] ^= 0x01

    check = verify(bytes(tampered), signature, [key.public_text])

    assert not check.ok
    assert check.problem and "changed after it was signed" in check.problem


def test_another_key_is_not_trusted_and_says_which_key_signed() -> None:
    signer, other = SigningKey.generate(), SigningKey.generate()
    check = verify(MANIFEST, signer.sign(MANIFEST, "manifest.json"), [other.public_text])
    assert not check.ok and check.problem and signer.key_id in check.problem


def test_a_signature_from_before_a_rotation_verifies_with_the_retired_key() -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    before = old.sign(MANIFEST, "manifest.json")
    after = new.sign(MANIFEST, "manifest.json")
    published = [old.public_text, new.public_text]
    assert verify(MANIFEST, before, published).key_id == old.key_id
    assert verify(MANIFEST, after, published).key_id == new.key_id
    assert all(verify(MANIFEST, s, published).ok for s in (before, after))


def test_a_forged_or_garbled_signature_file_is_a_failed_check_not_a_crash() -> None:
    key = SigningKey.generate()
    for garbage in (b"", b"not json", b'{"keyId": 1}', b'{"keyId": "x", "signature": "%%"}'):
        assert not verify(MANIFEST, garbage, [key.public_text]).ok
    assert check_artefact("manifest.json", MANIFEST, None, [key.public_text]).problem == (
        "no signature (manifest.json.sig is missing)")


def test_public_key_text_round_trips_and_bad_text_is_refused() -> None:
    key = SigningKey.generate()
    assert key_id(key.public_text) == key.key_id and len(key.key_id) == 16
    parse_public_key(key.public_text)
    assert SigningKey.from_pem(key.to_pem()).public_text == key.public_text
    with pytest.raises(SignatureProblem):
        parse_public_key("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p")


def test_the_certificate_must_name_the_verified_manifest(tmp_path: Path) -> None:
    key = SigningKey.generate()
    digest = "d" * 64
    certificate = json.dumps({"backup": {"manifestSha256": "e" * 64}}).encode()
    files = {"manifest.json": MANIFEST, "manifest.json.sig": key.sign(MANIFEST, "manifest.json"),
             "deletion-certificate.json": certificate,
             "deletion-certificate.json.sig": key.sign(certificate, "deletion-certificate.json")}

    manifest_check, certificate_check = signature_checks(files.get, digest, [key.public_text])

    assert manifest_check.ok
    assert not certificate_check.ok and certificate_check.problem
    assert "e" * 64 in certificate_check.problem
