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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.measure import Measured, best, run_measured

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


def stage_costs(plain: Path, *, level: int, recipient: str, repeats: int = 1) -> StageCosts:
    """Measure every stage on `plain`, the best of `repeats` runs each (as for the
    contenders: one slow age run once made a floor 40% higher); removes the files
    it made."""
    compressed = plain.with_suffix(".zst")
    cipher = plain.with_suffix(".age")

    def zstd_run() -> Measured:
        with compressed.open("wb") as out:
            return run_measured([sys.executable, "-c", _ZSTD, str(plain), str(level)],
                                stdout=out)[0]

    def age_run() -> Measured:
        with compressed.open("rb") as src, cipher.open("wb") as out:
            return run_measured(["age", "-r", recipient], stdin=src, stdout=out)[0]

    def sha_run(path: Path) -> Measured:
        return run_measured([sys.executable, "-c", _SHA, str(path)])[0]

    def best_of(measure: Callable[[], Measured]) -> Measured:
        return best([measure() for _ in range(max(1, repeats))])

    try:
        zstd, age = best_of(zstd_run), best_of(age_run)
        sha_plain, sha_cipher = best_of(lambda: sha_run(plain)), best_of(lambda: sha_run(cipher))
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
