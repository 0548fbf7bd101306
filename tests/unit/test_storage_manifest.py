"""The manifest model, its serialisation, and verification of downloaded files."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tenant_exit.storage.manifest import (
    Encryption,
    Manifest,
    ObjectKind,
    StoredObject,
    Totals,
    check_object,
    verify_directory,
)
from tenant_exit.storage.presign import PresignedLink, presign_backup
from tenant_exit.storage.s3client import make_client
from tenant_exit.worker.verify import parse_s3_url

PREFIX = "exits/zorg/attempt-1/"


def _object(name: str, data: bytes) -> StoredObject:
    return StoredObject(key=PREFIX + name, kind=ObjectKind.DOCUMENTS, name="docs",
                        content="application/x-tar", size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), plaintext_bytes=1,
                        plaintext_sha256="0" * 64)


def _manifest(objects: list[StoredObject]) -> Manifest:
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    return Manifest(exit_name="zorg", attempt=1, started_at=now, completed_at=now,
                    encryption=Encryption(recipients=["age1" + "q" * 58]), objects=objects,
                    totals=Totals(tables=1, rows=2, database_bytes=3, files=4,
                                  document_bytes=5))


def test_serialisation_is_camel_case_and_round_trips() -> None:
    manifest = _manifest([_object("documents-docs.tar.zst.age", b"abc")])
    data = manifest.to_bytes()
    doc = json.loads(data)
    assert doc["exitName"] == "zorg" and doc["objects"][0]["plaintextSha256"] == "0" * 64
    assert "NOT a restore point" in doc["notice"]
    assert Manifest.from_bytes(data) == manifest
    assert manifest.to_bytes() == data  # stable bytes: the receipt quotes their digest


def test_check_object() -> None:
    obj = _object("a", b"abc")
    assert check_object(obj, 3, obj.sha256).ok
    assert check_object(obj, None, None).problem == "missing"
    assert "size 4" in (check_object(obj, 4, obj.sha256).problem or "")
    assert "SHA-256" in (check_object(obj, 3, "f" * 64).problem or "")


def test_verify_directory_detects_a_flipped_byte(tmp_path: Path) -> None:
    good, other = b"encrypted bytes", b"more encrypted bytes"
    manifest = _manifest([_object("a.zst.age", good), _object("b.zst.age", other)])
    (tmp_path / "manifest.json").write_bytes(manifest.to_bytes())
    (tmp_path / "a.zst.age").write_bytes(good)
    (tmp_path / "b.zst.age").write_bytes(other)
    report = verify_directory(tmp_path / "manifest.json", tmp_path)
    assert report.ok and report.summary() == "all 2 objects match the manifest"
    assert report.manifest_sha256 == hashlib.sha256(manifest.to_bytes()).hexdigest()

    (tmp_path / "b.zst.age").write_bytes(b"more encrypted bytez")
    (tmp_path / "a.zst.age").unlink()
    report = verify_directory(tmp_path / "manifest.json", tmp_path)
    assert not report.ok
    assert report.checks[0].problem == "missing"
    assert "SHA-256" in (report.checks[1].problem or "")


def test_presigned_links_cover_manifest_and_objects_and_hide_urls() -> None:
    # Signing is local: no request reaches the (non-existent) endpoint.
    client = make_client(endpoint_url="http://s3.invalid:9000", region="eu-west-1",
                         aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x" * 40)
    manifest = _manifest([_object("a.zst.age", b"1"), _object("b.zst.age", b"2")])
    links = presign_backup(client, "bucket", PREFIX + "manifest.json", manifest=manifest,
                           expires_in=3600)
    assert [link.key for link in links] == [PREFIX + "manifest.json", PREFIX + "a.zst.age",
                                            PREFIX + "b.zst.age"]
    assert all(link.url.startswith("http://s3.invalid:9000/bucket/exits/") for link in links)
    assert all("X-Amz-Signature=" in link.url for link in links)
    assert "X-Amz" not in repr(links)
    with pytest.raises(ValueError):
        presign_backup(client, "bucket", "k", manifest=manifest, expires_in=8 * 24 * 3600)


def test_parse_s3_url() -> None:
    assert parse_s3_url("s3://b/exits/x/manifest.json") == ("b", "exits/x/manifest.json")
    with pytest.raises(ValueError):
        parse_s3_url("s3://bucket-only")
    assert isinstance(PresignedLink("k", "u", None, None), PresignedLink)
