"""The packaging docs say what the chart does: the permission table in
docs/security.md is the chart's ClusterRole, and every document a user may read
first says that a backup cannot restore the application."""

from __future__ import annotations

import re

from tests.support.api_usage import Permission, granted
from tests.support.helm import REPO, one, render


def documented_permissions() -> set[Permission]:
    text = (REPO / "docs" / "security.md").read_text()
    table = text.split("## The operator's permissions", 1)[1].split("\n\n")
    rows = next(block for block in table if block.startswith("| resource |")).splitlines()[2:]
    found: set[Permission] = set()
    previous_group = ""
    for row in rows:
        resource_cell, verbs_cell = (cell.strip() for cell in row.strip("|").split("|")[:2])
        name = resource_cell.strip("`")
        resource, _, group = name.partition(".")
        if "/" in name:  # `tenantexits/status`: the group of the row above
            resource, group = name, previous_group
        previous_group = group
        for verb in re.split(r",\s*", verbs_cell):
            found.add(Permission(group, resource, verb))
    return found


def test_security_doc_lists_exactly_the_cluster_role() -> None:
    rules = one(render(), "ClusterRole")["rules"]
    assert documented_permissions() == granted(rules)


def test_user_facing_docs_say_the_backup_cannot_restore_the_application() -> None:
    for doc in ("README.md", "docs/customer-receipt.md"):
        text = (REPO / doc).read_text()
        assert "cannot restore the application" in text, doc
    chart = (REPO / "charts" / "tenant-exit-operator" / "Chart.yaml").read_text()
    assert "cannot restore the application" in chart
