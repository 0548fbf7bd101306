"""The model's description, published with every run: Markdown, JSON, an ER
diagram (SVG rendered offline by Graphviz's `dot`, and Mermaid text) and a
changelog between model versions.

Readers are the care organisation's analysts and privacy officer, so the
document starts with what the extraction is NOT, then an index, then one
section per table: columns, types, descriptions, classification, and the
source tables it is computed from (lineage). Identifying columns that are
dropped are listed too: a reader must see what is deliberately left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import graphviz

from tenant_exit.api.datamodel import Classification, DataModelSpec, Table, canonical_json

PLAIN_STATEMENTS = (
    "This extraction contains **no client documents**.",
    "It is **not a retention archive**: it does not satisfy the legal duty to keep the "
    "medical record.",
    "It **cannot restore the application**: it is a simplified model for reports and "
    "analysis, not a backup.",
)

Lineage = Mapping[str, set[tuple[str, str]]]
"""Output table -> (source table, source column) pairs it reads."""


@dataclass(frozen=True)
class ModelDocs:
    markdown: str
    json: str
    svg: bytes
    mermaid: str
    changelog: str


def _column_note(classification: Classification, transform: str | None) -> str:
    if classification == Classification.IDENTIFYING and transform is None:
        return "identifying — **not published**"
    if transform is not None:
        return f"identifying, published as `{transform}`"
    if classification == Classification.PSEUDONYMISED:
        return "pseudonymised (keyed HMAC-SHA256)"
    return classification.value


def _anchor(name: str) -> str:
    return name.replace("_", "-")


def render_markdown(spec: DataModelSpec, name: str, model_hash: str, lineage: Lineage) -> str:
    lines = [f"# {spec.title} (data model `{name}`, version {spec.version})", ""]
    lines += [f"- {statement}" for statement in PLAIN_STATEMENTS]
    lines += ["", f"Model content hash (SHA-256): `{model_hash}`", ""]
    if spec.description:
        lines += [spec.description, ""]
    lines += ["## Tables", ""]
    lines += [f"- [{t.name}](#{_anchor(t.name)}): {t.description.splitlines()[0]}"
              for t in spec.tables]
    lines += ["", "Diagram: `datamodel.svg` (Mermaid source: `datamodel.mmd`).", ""]
    for table in spec.tables:
        lines += _table_section(table, spec, lineage.get(table.name, set()))
    return "\n".join(lines).rstrip() + "\n"


def _table_section(table: Table, spec: DataModelSpec, sources: set[tuple[str, str]]) -> list[str]:
    lines = [f"## {table.name}", "", table.description, ""]
    if table.domain:
        lines += [f"Domain: {table.domain}", ""]
    if table.primary_key:
        lines += [f"Key: {', '.join(table.primary_key)}", ""]
    lines += ["| Column | Type | Null | Classification | Description |",
              "| --- | --- | --- | --- | --- |"]
    for c in table.columns:
        published_type = c.type if c.published else "—"
        description = c.description.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {c.name} | {published_type} | {'yes' if c.nullable else 'no'} | "
                     f"{_column_note(c.classification, c.transform)} | {description} |")
    relations = [r for r in spec.relations if table.name in (r.from_.table, r.to.table)]
    if relations:
        lines += ["", "Relations:"]
        lines += [f"- {r.name}: {r.from_.table}({', '.join(r.from_.columns)}) -> "
                  f"{r.to.table}({', '.join(r.to.columns)}) {r.description}".rstrip()
                  for r in relations]
    source_tables = sorted({t for t, _ in sources})
    lines += ["", "Lineage: computed from source table(s) "
              + (", ".join(f"`{t}`" for t in source_tables) or "(not resolved)")
              + ("; reads " + ", ".join(f"`{t}.{c}`" for t, c in sorted(sources)) if sources
                 else "") + ".",
              "", "```sql", table.query.strip(), "```", ""]
    return lines


def render_json(spec: DataModelSpec, name: str, model_hash: str, lineage: Lineage) -> str:
    document: dict[str, Any] = {
        "kind": "DataModel", "name": name, "version": spec.version, "contentHash": model_hash,
        "statements": [s.replace("**", "") for s in PLAIN_STATEMENTS],
        "model": json.loads(canonical_json(spec)),
        "published": {t.name: [c.name for c in t.columns if c.published] for t in spec.tables},
        "lineage": {t: sorted(f"{a}.{b}" for a, b in pairs) for t, pairs in lineage.items()},
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_mermaid(spec: DataModelSpec) -> str:
    lines = ["erDiagram"]
    for table in spec.tables:
        lines.append(f"    {table.name} {{")
        for c in table.columns:
            if c.published:
                key = " PK" if c.name in table.primary_key else ""
                lines.append(f"        {c.type.split('(')[0]} {c.name}{key}")
        lines.append("    }")
    for r in spec.relations:
        lines.append(f"    {r.to.table} ||--o{{ {r.from_.table} : {r.name}")
    return "\n".join(lines) + "\n"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def diagram(spec: DataModelSpec) -> graphviz.Digraph:
    graph = graphviz.Digraph("datamodel", graph_attr={"rankdir": "LR", "fontname": "Helvetica"},
                             node_attr={"shape": "plaintext", "fontname": "Helvetica"})
    domains: dict[str, list[Table]] = {}
    for table in spec.tables:
        domains.setdefault(table.domain or "", []).append(table)
    for domain, tables in domains.items():
        target = graph
        sub = None
        if domain:
            sub = graphviz.Digraph(name=f"cluster_{domain}",
                                   graph_attr={"label": domain, "style": "rounded"})
            target = sub
        for table in tables:
            rows = "".join(
                f'<TR><TD ALIGN="LEFT">{_html(c.name)}'
                f'{" (key)" if c.name in table.primary_key else ""}</TD>'
                f'<TD ALIGN="LEFT">{_html(c.type)}</TD></TR>'
                for c in table.columns if c.published)
            label = (f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0">'
                     f'<TR><TD COLSPAN="2" BGCOLOR="lightgrey"><B>{_html(table.name)}</B></TD>'
                     f"</TR>{rows}</TABLE>>")
            target.node(table.name, label=label)
        if sub is not None:
            graph.subgraph(sub)
    for r in spec.relations:
        graph.edge(r.from_.table, r.to.table, label=r.name, arrowhead="tee", arrowtail="crow",
                   dir="both")
    return graph


def render_svg(spec: DataModelSpec) -> bytes:
    """SVG from Graphviz's `dot`, offline (the Debian package `graphviz`)."""
    svg: bytes = diagram(spec).pipe(format="svg")
    return svg


def changelog_entry(previous: Mapping[str, Any] | None, spec: DataModelSpec,
                    model_hash: str) -> list[str]:
    """What changed since the previously published model (its datamodel.json)."""
    if previous is None:
        return [f"## {spec.version}", "", "First published version.", ""]
    if previous.get("contentHash") == model_hash:
        return []
    before = {t["name"]: t for t in previous.get("model", {}).get("tables", [])}
    now = {t.name: t for t in spec.tables}
    lines = [f"## {spec.version} (was {previous.get('version')})", ""]
    if spec.release_notes:
        lines += [spec.release_notes, ""]
    lines += [f"- table `{n}` added" for n in now if n not in before]
    lines += [f"- table `{n}` removed" for n in before if n not in now]
    for name, table in now.items():
        if name not in before:
            continue
        old_columns = {c["name"]: c for c in before[name].get("columns", [])}
        new_columns = {c.name: c for c in table.columns}
        lines += [f"- `{name}.{c}` added" for c in new_columns if c not in old_columns]
        lines += [f"- `{name}.{c}` removed" for c in old_columns if c not in new_columns]
        for column_name, column in new_columns.items():
            old = old_columns.get(column_name)
            if old is None:
                continue
            for key, value in (("type", column.type),
                               ("classification", column.classification.value),
                               ("transform", column.transform.value if column.transform else None)):
                if old.get(key) != value:
                    lines.append(f"- `{name}.{column_name}` {key}: {old.get(key)} -> {value}")
        if before[name].get("query", "").strip() != table.query.strip():
            lines.append(f"- `{name}` query changed")
    return [*lines, ""]


def render_changelog(previous_json: Mapping[str, Any] | None, previous_changelog: str,
                     spec: DataModelSpec, model_hash: str) -> str:
    header = "# Changelog of the data model\n\n"
    body = previous_changelog.removeprefix(header)
    entry = changelog_entry(previous_json, spec, model_hash)
    return header + ("\n".join(entry) + "\n" if entry else "") + body


def render_all(spec: DataModelSpec, name: str, model_hash: str, lineage: Lineage,
               previous_json: Mapping[str, Any] | None, previous_changelog: str) -> ModelDocs:
    return ModelDocs(
        markdown=render_markdown(spec, name, model_hash, lineage),
        json=render_json(spec, name, model_hash, lineage),
        svg=render_svg(spec),
        mermaid=render_mermaid(spec),
        changelog=render_changelog(previous_json, previous_changelog, spec, model_hash),
    )
