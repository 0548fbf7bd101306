"""The Dockerfile cannot be built here (no container engine), so it is linted with
hadolint and checked against what the code and the chart need from the image."""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
SOURCE = REPO / "operator" / "tenant_exit"
VALUES = REPO / "charts" / "tenant-exit-operator" / "values.yaml"

# Executables the code may run -> the Debian package that provides each in the image.
TOOL_PACKAGES = {
    "mysqldump": "mariadb-client",
    "mariadb-dump": "mariadb-client",
    "mysql": "mariadb-client",
    "mariadb": "mariadb-client",  # tenant-exit load: the client when no `mysql` is on PATH
    "zstd": "zstd",
    "age": "age",
    "tar": "tar",
}
# Packages the image needs for reasons other than a subprocess of ours.
NON_TOOL_PACKAGES = {"ca-certificates": "TLS to S3 endpoints and the Kubernetes API"}
# The backup is a mysqldump stream, whatever the worker looks like today
# (docs/architecture.md, "The worker").
ALWAYS_NEEDED = {"mysqldump"}


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARGs and stages; continuation lines joined, comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], parts[0])
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        elif keyword == "ARG" and not stages:
            key, _, value = rest.partition("=")
            args[key] = value
        elif stages:
            stages[-1].instructions.append((keyword, rest.strip()))
    return args, stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse(DOCKERFILE.read_text())[1]


@pytest.fixture(scope="module")
def runtime(stages: list[Stage]) -> Stage:
    return stages[-1]


def installed_packages(stage: Stage) -> set[str]:
    packages: set[str] = set()
    for run in stage.all("RUN"):
        for command in re.split(r"&&|;", run):
            words = shlex.split(command)
            if words[:2] == ["apt-get", "install"]:
                packages |= {w for w in words[2:] if not w.startswith("-")}
    return packages


def _argv_head(argv: ast.expr) -> set[str]:
    if isinstance(argv, ast.List | ast.Tuple) and argv.elts:
        head = argv.elts[0]
        if isinstance(head, ast.Constant) and isinstance(head.value, str):
            return {head.value}
    return set()


def tools_the_code_runs() -> list[frozenset[str]]:
    """Each program the source looks up or starts, as a set of alternatives (any one
    will do): the string arguments of `find_tool(...)`/`shutil.which(...)`, and the
    literal head of an argv list handed to subprocess. A tool name elsewhere (in a
    message, a schema list) is not a need."""
    needs: list[frozenset[str]] = []
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("find_tool", "which"):
                names = {a.value for a in node.args
                         if isinstance(a, ast.Constant) and isinstance(a.value, str)}
            elif name in ("Popen", "run", "check_output", "check_call",
                          "create_subprocess_exec") and node.args:
                names = _argv_head(node.args[0])
            else:
                continue
            if names:
                unknown = names - TOOL_PACKAGES.keys()
                assert not unknown, f"{path.name}:{node.lineno}: add {unknown} to TOOL_PACKAGES"
                needs.append(frozenset(names))
    return needs


def test_hadolint_is_clean() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    config = REPO / ".hadolint.yaml"
    result = subprocess.run(
        [str(hadolint), "--config", str(config), "--format", "json", str(DOCKERFILE)],
        capture_output=True, text=True, check=False,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], "\n".join(f"{f['line']}: {f['code']} {f['message']}" for f in findings)
    assert result.returncode == 0


def test_multi_stage_on_a_pinned_slim_python_matching_the_project(stages: list[Stage]) -> None:
    assert len(stages) >= 2, "build and runtime stages"
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = re.search(r">=\s*(\d+\.\d+)", requires)
    assert minimum is not None
    for stage in stages:
        image, _, digest = stage.base.partition("@")
        repo, _, tag = image.partition(":")
        assert repo == "python", stage.base
        # A full patch version (or a digest) pins the base; `3.11-slim` would float.
        assert re.fullmatch(rf"{re.escape(minimum.group(1))}\.\d+-slim-bookworm", tag), stage.base
        assert not digest or re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert any(f"--from={stages[0].name}" in c for c in stages[-1].all("COPY"))


def test_runtime_runs_as_the_numeric_non_root_user_the_chart_declares(runtime: Stage) -> None:
    (user,) = runtime.all("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0
    security = yaml.safe_load(VALUES.read_text())["podSecurityContext"]
    assert (int(uid), int(gid)) == (security["runAsUser"], security["runAsGroup"])
    assert runtime.instructions[-1][0] in ("CMD", "ENTRYPOINT")
    last_user = max(i for i, (kw, _) in enumerate(runtime.instructions) if kw == "USER")
    assert all(kw != "RUN" for kw, _ in runtime.instructions[last_user:]), "RUN after USER"


def test_entry_point_is_the_projects_console_script(runtime: Stage) -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    (entrypoint,) = runtime.all("ENTRYPOINT")
    (cmd,) = runtime.all("CMD")
    assert json.loads(entrypoint) == ["tenant-exit"]
    assert "tenant-exit" in scripts
    assert json.loads(cmd) == ["operator"]
    # The chart runs `operator`; the backup Job runs `worker backup`: both are commands.
    from tenant_exit.cli import _build_parser

    parser = _build_parser()
    assert parser.parse_args(["operator"]).command == "operator"
    assert parser.parse_args(["worker", "backup"]).worker_command == "backup"
    assert any("/opt/tenant-exit/bin" in e for e in runtime.all("ENV"))


def test_read_only_root_filesystem_is_prepared_for(runtime: Stage) -> None:
    env = " ".join(runtime.all("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "TMPDIR=/tmp" in env


def test_the_scan_finds_the_workers_pipeline() -> None:
    """Guards against a scan that finds nothing and so demands nothing."""
    found = set().union(*tools_the_code_runs())
    assert {"tar", "age"} <= found
    assert found & {"mysqldump", "mariadb-dump"}


def test_image_provides_every_tool_the_code_runs(runtime: Stage) -> None:
    packages = installed_packages(runtime)
    needs = [*tools_the_code_runs(), frozenset(ALWAYS_NEEDED)]
    missing = [
        sorted(alternatives) for alternatives in needs
        if not any(TOOL_PACKAGES[tool] in packages for tool in alternatives)
    ]
    assert not missing, f"the image lacks packages for tools the code runs: {missing}"


def test_image_installs_nothing_without_a_reason(runtime: Stage) -> None:
    packages = installed_packages(runtime)
    used = set().union(*tools_the_code_runs(), ALWAYS_NEEDED)
    justified = {TOOL_PACKAGES[tool] for tool in used} | set(NON_TOOL_PACKAGES)
    assert packages <= justified, f"unexplained packages: {packages - justified}"
    assert "--no-install-recommends" in " ".join(runtime.all("RUN"))
    assert any("rm -rf /var/lib/apt/lists" in r for r in runtime.all("RUN"))


def test_exposed_ports_are_the_charts(runtime: Stage) -> None:
    values = yaml.safe_load(VALUES.read_text())
    exposed = {int(p) for e in runtime.all("EXPOSE") for p in e.split()}
    assert exposed == {values["health"]["port"], values["metrics"]["port"]}


def test_build_context_holds_what_the_build_copies(stages: list[Stage]) -> None:
    """.dockerignore excludes everything (.venv, caches, test data) but what COPY needs."""
    lines = (REPO / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    sources = {
        src.rstrip("/")
        for stage in stages
        for copy in stage.all("COPY") if not copy.startswith("--from")
        for src in copy.split()[:-1]
    }
    assert sources == allowed
    for source in sources:
        assert (REPO / source).exists(), source


def test_the_backup_job_runs_this_image_as_its_user(runtime: Stage) -> None:
    """The operator builds the Job from the same image: its command must exist in the
    image and its UID must be the image's USER (the root filesystem is read-only)."""
    from tenant_exit.settings import OperatorSettings

    settings = OperatorSettings()
    (user,) = runtime.all("USER")
    assert settings.worker_command[:3] == ["tenant-exit", "worker", "backup"]
    assert settings.worker_user == int(user.partition(":")[0])
