"""Irreducible stage costs: each stage alone, as its own process, on the same bytes.

The database dump and the documents tar are written to files once; then zstd at our
level compresses the plaintext (the `zstandard` library in 1 MiB chunks, as the
worker does: on the 1.5 GB bench dump the `zstd` 1.5.4 CLI took 8.8 CPU-s where the
library took 3.7, so a floor measured with the CLI would flatter every in-process
pipeline), age encrypts the compressed bytes, and SHA-256 (hashlib, the
implementation the worker uses) digests the plaintext and the ciphertext. The sum
of these plus the producer's own CPU (mysqldump or tar) is the CPU any pipeline
with these stages must spend: `*_cpu_vs_floor` divides our worker's CPU by it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.measure import Measured, run_measured

_ZSTD = ("import sys,zstandard\n"
         "c=zstandard.ZstdCompressor(level=int(sys.argv[2])).compressobj()\n"
         "w=sys.stdout.buffer.write\n"
         "with open(sys.argv[1],'rb',buffering=0) as f:\n"
         "    while b:=f.read(1<<20): w(c.compress(b))\n"
         "w(c.flush())")
_SHA = ("import hashlib,sys\n"
        "h=hashlib.sha256()\n"
        "with open(sys.argv[1],'rb',buffering=0) as f:\n"
        "    while b:=f.read(1<<20): h.update(b)\n"
        "print(h.hexdigest())")


@dataclass(frozen=True)
class StageCosts:
    plaintext_bytes: int
    compressed_bytes: int
    zstd: Measured
    age: Measured
    sha_plain: Measured
    sha_cipher: Measured

    @property
    def cpu(self) -> float:
        return self.zstd.cpu + self.age.cpu + self.sha_plain.cpu + self.sha_cipher.cpu


def stage_costs(plain: Path, *, level: int, recipient: str) -> StageCosts:
    """Measure every stage on `plain`; removes the files it made."""
    compressed = plain.with_suffix(".zst")
    cipher = plain.with_suffix(".age")
    try:
        with compressed.open("wb") as out:
            zstd, _ = run_measured([sys.executable, "-c", _ZSTD, str(plain), str(level)],
                                   stdout=out)
        with compressed.open("rb") as src, cipher.open("wb") as out:
            age, _ = run_measured(["age", "-r", recipient], stdin=src, stdout=out)
        sha_plain, _ = run_measured([sys.executable, "-c", _SHA, str(plain)])
        sha_cipher, _ = run_measured([sys.executable, "-c", _SHA, str(cipher)])
        return StageCosts(plain.stat().st_size, compressed.stat().st_size,
                          zstd, age, sha_plain, sha_cipher)
    finally:
        for path in (compressed, cipher):
            path.unlink(missing_ok=True)


def write_output(argv: list[str], path: Path, env: dict[str, str] | None = None) -> Path:
    """The producer's plaintext into a file (not timed)."""
    with path.open("wb") as out:
        subprocess.run(argv, stdout=out, env=env or dict(os.environ), check=True)
    return path
