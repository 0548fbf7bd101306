"""SQL names: quoting identifiers, and the LIKE patterns of schema-level grants.

One owner for both: the grants, the inventory, the row counts and the drop all
build statements from names they read from information_schema, and a name may
hold any character, a backtick included.
"""

from __future__ import annotations

import re


def quote_identifier(name: str) -> str:
    """`name` as a MySQL/MariaDB identifier: backticks, an inner backtick doubled."""
    return "`" + name.replace("`", "``") + "`"


def like_matches(pattern: str, name: str) -> bool:
    """MySQL's LIKE for schema grants: `%` any run, `_` one character, `\\` escapes."""
    regex = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            regex.append(re.escape(next(chars, "\\")))
        elif char == "%":
            regex.append(".*")
        elif char == "_":
            regex.append(".")
        else:
            regex.append(re.escape(char))
    return re.fullmatch("".join(regex), name, flags=re.DOTALL) is not None


def is_like_pattern(pattern: str) -> bool:
    """True when a schema grant's name has an unescaped wildcard (`%` or `_`)."""
    return re.search(r"(?<!\\)[%_]", pattern) is not None


def unescape_like(pattern: str) -> str:
    """The literal name of a grant pattern without wildcards (`ons\\_a` -> `ons_a`)."""
    return pattern.replace("\\_", "_").replace("\\%", "%")
