"""The tools a platform engineer would pick instead of our worker, as command lines.

Each peer streams the same bytes (the same mysqldump command, the same documents
tree) into the same S3 bucket the worker writes to:

  restic      `mysqldump | restic backup --stdin` and `restic backup <dir>` into a
              fresh S3 repository per run (compression auto; encryption always on)
  rclone      `mysqldump | zstd -1 | age -r R | rclone rcat remote:bucket/key`, and
              `tar -cf - dir | ...` the same: the same stages as ours, as separate
              processes, no Python
  awscli      the same shell pipeline ending in `aws s3 cp - s3://bucket/key`

kopia (Velero's engine) and s5cmd would belong here too, but the Go module proxy
this project can reach refuses both (403 on `go list -m -versions`), and nothing
else may be downloaded: they are left out, not forgotten.

restic and rclone are built from their Go modules and awscli installed into a
bench-only venv by bench/build-peers.sh, pinned, on first use.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

BUILD = Path(__file__).resolve().parent / "build-peers.sh"


def peer_binary(name: str) -> str:
    """Path of a pinned peer, built or installed on first use."""
    out = subprocess.run([str(BUILD), name], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


@dataclass(frozen=True)
class S3Target:
    endpoint_url: str
    region: str
    access_key: str
    secret_key: str
    bucket: str


@dataclass(frozen=True)
class Peers:
    restic: str
    rclone: str
    aws: str
    target: S3Target
    workdir: Path

    @classmethod
    def build(cls, target: S3Target, workdir: Path) -> Peers:
        workdir.mkdir(parents=True, exist_ok=True)
        return cls(peer_binary("restic"), peer_binary("rclone"), peer_binary("awscli"),
                   target, workdir)

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """Credentials for all three, by environment (nothing on a command line)."""
        t = self.target
        env = dict(base)
        env.update({
            "AWS_ACCESS_KEY_ID": t.access_key, "AWS_SECRET_ACCESS_KEY": t.secret_key,
            "AWS_DEFAULT_REGION": t.region,
            "RESTIC_PASSWORD": "bench-restic-password",
            "RESTIC_CACHE_DIR": str(self.workdir / "restic-cache"),
            "RCLONE_CONFIG_BENCH_TYPE": "s3", "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
            "RCLONE_CONFIG_BENCH_ENDPOINT": t.endpoint_url,
            "RCLONE_CONFIG_BENCH_REGION": t.region,
            "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": t.access_key,
            "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": t.secret_key,
            "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
        })
        return env

    def restic_repo(self, name: str) -> str:
        t = self.target
        return f"s3:{t.endpoint_url}/{t.bucket}/restic-{name}"

    def restic_init(self, name: str, env: dict[str, str]) -> None:
        """A fresh repository (not timed: a real user inits once)."""
        subprocess.run([self.restic, "-r", self.restic_repo(name), "init", "-q"], env=env,
                       check=True, capture_output=True)

    def restic_backup(self, name: str, source: list[str], *, stdin: bool) -> list[str]:
        """`<source> | restic backup --stdin`, or `restic backup <dir>`."""
        restic = [self.restic, "-r", self.restic_repo(name), "backup", "-q",
                  "--compression", "auto", "--no-scan"]
        if stdin:
            line = (f"{shlex.join(source)} | {shlex.join(restic)} --stdin "
                    "--stdin-filename dump.sql")
        else:
            line = shlex.join([*restic, *source])
        return _bash(line)

    def shell_pipeline(self, source: list[str], uploader: str, key: str, *,
                       level: int, recipient: str) -> list[str]:
        """`<source> | zstd -<level> | age -r R | <rclone rcat | aws s3 cp ->`."""
        t = self.target
        if uploader == "rclone":
            upload = [self.rclone, "rcat", f"bench:{t.bucket}/{key}"]
        elif uploader == "aws":
            upload = [self.aws, "s3", "cp", "--only-show-errors", "--endpoint-url",
                      t.endpoint_url, "-", f"s3://{t.bucket}/{key}"]
        else:
            raise ValueError(uploader)
        stages = [source, ["zstd", f"-{level}", "-q", "-c"], ["age", "-r", recipient], upload]
        return _bash(" | ".join(shlex.join(s) for s in stages))

    def upload_file(self, path: Path, key: str) -> list[str]:
        """The S3 server's ceiling: rclone streaming a file of the same byte count."""
        return _bash(f"{shlex.join([self.rclone, 'rcat', f'bench:{self.target.bucket}/{key}'])}"
                     f" < {shlex.quote(str(path))}")


def _bash(line: str) -> list[str]:
    return ["bash", "-c", f"set -o pipefail; {line}"]


def random_file(path: Path, size: int) -> Path:
    """Incompressible bytes (like ciphertext) for the store-ceiling upload."""
    with path.open("wb") as out:
        left = size
        while left > 0:
            block = os.urandom(min(left, 1 << 20))
            out.write(block)
            left -= len(block)
    return path
