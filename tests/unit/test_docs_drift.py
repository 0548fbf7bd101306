"""Facts in the user docs that drift when the code moves, checked against the code
(like the RBAC table in test_chart_docs): the make targets and `tenant-exit`
commands the docs tell people to run, the condition reasons of the
troubleshooting table, the operator settings and their defaults, the metrics
Service's name and the chart values the docs name. Pure: files and imports only.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenant_exit import cli
from tenant_exit.api import conditions
from tenant_exit.settings import OperatorSettings
from tenant_exit.worker.settings import WorkerSettings

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
CHART = REPO / "charts" / "tenant-exit-operator"
OPERATIONS = REPO / "docs" / "operations.md"
# Variables of the test harness (tests/localcluster) and of the fault suite
# (tests/support/chaos.py), not of the product.
HARNESS_VARIABLES = {"TENANT_EXIT_CACHE", "TENANT_EXIT_CHAOS_SEED", "TENANT_EXIT_CHAOS_KILLS"}


def code_of(text: str) -> list[str]:
    """Fenced blocks and inline code spans: where commands and names are quoted."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M)
    return fenced + re.findall(r"`([^`\n]+)`", prose)


def doc_code() -> list[tuple[str, str]]:
    return [(doc.name, snippet) for doc in DOCS for snippet in code_of(doc.read_text())]


def section(text: str, heading: str) -> str:
    """From `heading` to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n")
    rest = text[start + len(heading) + 1:]
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", rest, flags=re.M)]
    return rest[:ends[0]] if ends else rest


def table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


# -- make targets and tenant-exit commands --------------------------------------
def make_targets() -> set[str]:
    text = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([a-z][\w-]*):", text, flags=re.M))


def test_every_make_target_the_docs_name_exists() -> None:
    named = {(doc, target) for doc, code in doc_code()
             for target in re.findall(r"(?:^|[\s;&(])make ([a-z][\w-]*)", code)}
    assert named, "the docs name make targets (make demo, make test)"
    missing = sorted((doc, t) for doc, t in named if t not in make_targets())
    assert not missing, f"make targets named in the docs but not in the Makefile: {missing}"


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_tenant_exit_command_the_docs_name_exists() -> None:
    top = subcommands(cli._build_parser())
    named = [(doc, m.group(1), m.group(2)) for doc, code in doc_code()
             for m in re.finditer(r"(?<![\w/.-])tenant-exit ([a-z][a-z-]*)(?: ([a-z]+))?", code)]
    assert {"verify", "load"} <= {command for _, command, _ in named}
    for doc, command, second in named:
        assert command in top, f"{doc}: `tenant-exit {command}` is not a command"
        nested = [a for a in top[command]._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            assert second in nested[0].choices, f"{doc}: `tenant-exit {command} {second}`"


# -- condition reasons -------------------------------------------------------------
def code_reasons() -> set[str]:
    return {value for name, value in vars(conditions).items()
            if name.isupper() and isinstance(value, str) and value not in conditions.ALL_TYPES}


def troubleshooting() -> str:
    return section(OPERATIONS.read_text(), "## Troubleshooting a stuck exit")


def test_every_reason_in_the_troubleshooting_table_exists_in_the_code() -> None:
    named = set()
    main_table = troubleshooting().split("### Condition reasons")[0]
    for symptom, *_ in table_rows(main_table):
        if "reason" in symptom:
            named |= set(re.findall(r"`([A-Z]\w+)`", symptom.split("reason", 1)[1]))
    assert len(named) > 10
    assert named - code_reasons() == set(), "reasons the table names that the code lacks"


def test_the_reason_table_lists_exactly_the_reasons_of_the_code() -> None:
    rows = table_rows(section(OPERATIONS.read_text(), "### Condition reasons"))
    documented = {row[0].strip("`") for row in rows}
    assert documented == code_reasons(), (
        f"undocumented: {sorted(code_reasons() - documented)}; "
        f"gone from the code: {sorted(documented - code_reasons())}")


# -- settings -------------------------------------------------------------------
def shown(value: Any) -> str:
    """A default as the settings table writes it."""
    if value is None:
        return "unset"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(", ", ": "))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_the_settings_table_lists_every_operator_setting_with_its_default() -> None:
    rows = table_rows(section(OPERATIONS.read_text(), "## Operator settings"))
    table = {row[0].strip("`"): row[1].strip("`") for row in rows}
    expected = {f"TENANT_EXIT_{name.upper()}": shown(field.default)
                for name, field in OperatorSettings.model_fields.items()}
    assert table == expected


def test_every_setting_the_docs_name_exists() -> None:
    known = {f"TENANT_EXIT_{name.upper()}" for model in (OperatorSettings, WorkerSettings)
             for name in model.model_fields} | HARNESS_VARIABLES
    for doc in DOCS:
        for variable in set(re.findall(r"TENANT_EXIT_[A-Z_]+", doc.read_text())):
            assert variable in known, f"{doc.name} names {variable}, which nothing reads"


# -- chart ------------------------------------------------------------------------
def test_the_metrics_service_is_named_as_the_docs_say() -> None:
    template = (CHART / "templates" / "service.yaml").read_text()
    assert 'name: {{ include "tenant-exit.fullname" . }}-metrics' in template
    text = OPERATIONS.read_text()
    assert "`<fullname>-metrics` Service" in text
    for doc in DOCS:
        assert "<release>-metrics" not in doc.read_text(), doc.name


def values() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    return loaded


def resolves(path: list[str], tree: Any) -> bool:
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return False
        tree = tree[key]
    return True


def named_values() -> set[tuple[str, str]]:
    """Dotted names in code spans whose first part is a top-level chart value, and
    every `--set key=...`."""
    top = set(values())
    found = set()
    for doc, code in doc_code():
        for key in re.findall(r"--set ([\w.]+)=", code):
            found.add((doc, key))
        match = re.fullmatch(r"([a-z][\w]*(?:\.[A-Za-z]\w*)+)(?:: .*)?", code.strip())
        if match and match.group(1).split(".")[0] in top:
            found.add((doc, match.group(1)))
    return found


@pytest.mark.parametrize(("doc", "key"), sorted(named_values()))
def test_every_chart_value_the_docs_name_exists(doc: str, key: str) -> None:
    assert resolves(key.split("."), values()), f"{doc} names chart value {key}"


def test_the_docs_name_chart_values() -> None:
    """The parametrized check above has something to check."""
    keys = {key for _, key in named_values()}
    assert {"metrics.enabled", "backupNetworkPolicy.namespaces", "image.repository"} <= keys
