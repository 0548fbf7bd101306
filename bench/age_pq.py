"""`python -m bench.age_pq`: age encryption throughput, post-quantum recipients
(age1pq1..., ML-KEM-768 + X25519) against classical ones (age1..., X25519), on
the same bytes, with the pinned age the worker runs.

age encrypts the payload with one ChaCha20-Poly1305 file key whatever the
recipients; the recipient type only changes how that key is wrapped in the
header. So throughput should be equal and the ciphertext larger by a constant
(the ML-KEM ciphertext in the header stanza): this measures both.

Each variant encrypts the same file BENCH_AGE_MIB (default 512) MiB of
incompressible bytes (the worker feeds age zstd output) to /dev/null,
BENCH_RUNS (default 3) times, interleaved in alternating order after one
warm-up; the best time counts. Prints a line per variant (wall and CPU time of
age) and, last, `pq_classical_throughput_ratio=<pq/classical>` on CPU time
(the steadier figure on a shared machine; the wall ratio is printed above it).
"""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from tests.localcluster.binaries import age_dir

CHUNK = 1 << 20


def keygen(directory: Path, name: str, *flags: str) -> str:
    path = directory / f"{name}.txt"
    subprocess.run([str(age_dir() / "age-keygen"), *flags, "-o", str(path)], check=True,
                   capture_output=True)
    return subprocess.run([str(age_dir() / "age-keygen"), "-y", str(path)], check=True,
                          capture_output=True, text=True).stdout.strip()


def encrypt_seconds(data: Path, recipient: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of age itself): on a shared machine the CPU
    time is the steadier figure of the two."""
    with data.open("rb") as source, open(os.devnull, "wb") as sink:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([str(age_dir() / "age"), "--encrypt", "-r", recipient], stdin=source,
                       stdout=sink, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def ciphertext_size(recipient: str, payload: bytes) -> int:
    out = subprocess.run([str(age_dir() / "age"), "--encrypt", "-r", recipient],
                         input=payload, check=True, capture_output=True).stdout
    return len(out)


def main() -> int:
    mib = int(os.environ.get("BENCH_AGE_MIB", "512"))
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    with tempfile.TemporaryDirectory(prefix="bench-age-") as tmp:
        work = Path(tmp)
        data = work / "payload"
        with data.open("wb") as out:
            for _ in range(mib):
                out.write(os.urandom(CHUNK))
        recipients = {"classical": keygen(work, "classical"), "pq": keygen(work, "pq", "-pq")}
        best = {name: float("inf") for name in recipients}
        best_cpu = dict(best)
        encrypt_seconds(data, recipients["classical"])  # warm the page cache
        for run in range(runs):
            # Alternate the order: the first of a pair must not be the one that pays.
            order = list(recipients) if run % 2 == 0 else list(reversed(recipients))
            for name in order:
                wall, cpu = encrypt_seconds(data, recipients[name])
                best[name] = min(best[name], wall)
                best_cpu[name] = min(best_cpu[name], cpu)
        version = subprocess.run([str(age_dir() / "age"), "--version"], check=True,
                                 capture_output=True, text=True).stdout.strip()
        print(f"age {version}, {mib} MiB of random bytes, best of {runs}")
        for name, recipient in recipients.items():
            overhead = ciphertext_size(recipient, b"x" * CHUNK) - CHUNK
            print(f"{name:<10} {mib / best[name]:8.1f} MiB/s wall ({best[name]:5.2f} s), "
                  f"{mib / best_cpu[name]:8.1f} MiB/s per CPU second ({best_cpu[name]:5.2f} s); "
                  f"ciphertext overhead {overhead} bytes (recipient {len(recipient)} chars)")
        print(f"pq_classical_wall_ratio={best['classical'] / best['pq']:.3f}")
        print(f"pq_classical_throughput_ratio={best_cpu['classical'] / best_cpu['pq']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
