"""pydantic JSON Schema -> Kubernetes structural schema.

pydantic emits `$ref`/`$defs`, `anyOf: [X, null]` for optional fields, titles and
`additionalProperties: false`; a CRD needs a structural schema: everything
inlined, one type per node, no `additionalProperties` beside `properties`
(unknown fields are refused by the API server's strict field validation instead).
"""

from __future__ import annotations

import re
from typing import Any

Schema = dict[str, Any]

_DROPPED = {"title", "additionalProperties", "examples"}
CLASS_DEFAULT = "x-tenantexit-class-default"
"""Marks a field a TenantExitClass may default: the CRD carries no default for it, so
an unset field stays unset on the server and the class's value can apply."""


def structural(schema: Schema, *, keep_defaults: bool = True,
               class_defaults: bool = False) -> Schema:
    """Inline every `$ref` of a pydantic schema and make the result structural.
    `class_defaults`: leave out the defaults of fields marked CLASS_DEFAULT (the
    TenantExit's; other resources reusing those models keep them)."""
    defs: dict[str, Schema] = schema.get("$defs", {})
    return _convert(schema, defs, keep_defaults, class_defaults)


def _convert(node: Schema, defs: dict[str, Schema], keep_defaults: bool,
             class_defaults: bool = False) -> Schema:
    node = _resolve(node, defs)
    out: Schema = {}
    class_default = class_defaults and bool(node.get(CLASS_DEFAULT))
    for key, value in node.items():
        if key in _DROPPED or key in ("$defs", CLASS_DEFAULT):
            continue
        if key == "default" and class_default:
            continue
        if key == "properties":
            out[key] = {
                name: _convert(sub, defs, keep_defaults, class_defaults)
                for name, sub in value.items()
            }
        elif key == "items":
            out[key] = _convert(value, defs, keep_defaults, class_defaults)
        elif key == "description":
            out[key] = _unwrap(value)
        elif key == "default":
            if keep_defaults and value not in (None, [], {}):
                out[key] = value
        else:
            out[key] = value
    return out


def _resolve(node: Schema, defs: dict[str, Schema]) -> Schema:
    """Replace `$ref` and `anyOf: [X, {type: null}]` by X, keeping sibling keys."""
    node = dict(node)
    any_of = node.pop("anyOf", None)
    if any_of is not None:
        branches = [b for b in any_of if b.get("type") != "null"]
        if len(branches) != 1:
            raise ValueError(f"a structural schema cannot express anyOf {any_of!r}")
        node = {**_resolve(branches[0], defs), **node}
    ref = node.pop("$ref", None)
    if ref is not None:
        target = _resolve(defs[ref.rsplit("/", 1)[-1]], defs)
        # The field's own description wins over the referenced model's.
        node = {**target, **node}
    return node


def _unwrap(text: str) -> str:
    """Join docstring lines into paragraphs: `kubectl explain` does its own wrapping."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)
