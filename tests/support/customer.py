"""What the customer does with a delivered backup: read the links Secret, download
every object over its presigned link (plain HTTP GET, no S3 credentials), verify
the files against the manifest with `tenant-exit verify`, decrypt with their age
identity and decompress."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyrage

from tests.localcluster.controlplane import ControlPlane
from tests.support.backups import open_object


@dataclass
class Download:
    directory: Path
    manifest: dict[str, Any]
    manifest_sha256: str
    files: dict[str, Path]


def download_backup(plane: ControlPlane, exit: dict[str, Any], directory: Path) -> Download:
    namespace, name = exit["status"]["backup"]["downloadSecret"].split("/")
    secret = json.loads(plane.kubectl("get", "secret", name, "-n", namespace, "-o", "json").stdout)
    links = json.loads(base64.b64decode(secret["data"]["links.json"]))
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for link in links["objects"]:
        target = directory / link["file"]
        with urllib.request.urlopen(link["url"], timeout=120) as response:  # noqa: S310
            target.write_bytes(response.read())
        files[link["file"]] = target
    manifest_bytes = files["manifest.json"].read_bytes()
    verified = subprocess.run(
        [sys.executable, "-m", "tenant_exit.cli", "verify", str(files["manifest.json"]),
         "--directory", str(directory)],
        capture_output=True, text=True, check=False,
    )
    if verified.returncode != 0:
        raise AssertionError(f"tenant-exit verify failed: {verified.stdout}{verified.stderr}")
    return Download(directory, json.loads(manifest_bytes),
                    hashlib.sha256(manifest_bytes).hexdigest(), files)


def decode(path: Path, identity: pyrage.x25519.Identity) -> bytes:
    return open_object(path.read_bytes(), identity)


def restore_summary(download: Download, identity: pyrage.x25519.Identity) -> str:
    """A line about what the decrypted backup holds (for the demo)."""
    parts = []
    for obj in download.manifest["objects"]:
        data = decode(download.files[obj["key"].rsplit("/", 1)[-1]], identity)
        if obj["kind"] == "database":
            inserts = data.count(b"INSERT INTO")
            parts.append(f"{obj['name']}.sql {len(data) / 1e6:.1f} MB "
                         f"({inserts} INSERT statements, ends with "
                         f"'{data.rstrip().splitlines()[-1].decode()[:30]}')")
        elif obj["kind"] == "documents":
            import tarfile

            with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                count = sum(1 for m in archive.getmembers() if m.isfile())
            parts.append(f"{obj['name']}.tar with {count} documents")
    return "decrypted: " + "; ".join(parts)
