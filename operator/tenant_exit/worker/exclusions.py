"""What is left out of the backup, decided purely (no I/O) so it is unit tested.

The retention duty covers the medical record, not the platform's logging or
files in transit: audit/log tables and import/export tables are excluded by
`schema.table` globs, import/export/tmp folders of the document volumes by path
globs. Decisions are recorded in the manifest with the pattern that matched.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

TABLE_EXCLUSION_REASON = (
    "Logging (audit and log tables) and import/export staging tables are not part of the "
    "medical record; the retention duty covers the data itself."
)
DOCUMENT_EXCLUSION_REASON = (
    "Import/export and temporary folders hold files in transit, not client documents."
)


def excluding_pattern(schema: str, table: str, patterns: list[str]) -> str | None:
    """The first `schema.table` glob that matches, or None. Case-sensitive, like table
    names on Linux; `*` and `?` may match a dot."""
    name = f"{schema}.{table}"
    for pattern in patterns:
        if fnmatchcase(name, pattern):
            return pattern
    return None


def _segment_regex(segment: str) -> str:
    out = []
    for char in segment:
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(char))
    return "".join(out)


def glob_to_regex(pattern: str, *, anchored: bool = False) -> re.Pattern[str]:
    """Compile a path glob: `*`/`?` stay within a segment, a `**` segment spans any
    number of segments (including none). A pattern without `/` matches the last
    segment at any depth (as `.gitignore` does) unless `anchored`."""
    pattern = pattern.strip("/")
    if "/" not in pattern and pattern != "**" and not anchored:
        return re.compile(rf"(?:.*/)?{_segment_regex(pattern)}")
    parts: list[str] = []
    segments = pattern.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]+/)*")
        else:
            parts.append(_segment_regex(segment) + ("" if last else "/"))
    return re.compile("".join(parts))


class PathExcluder:
    """Decides for paths relative to a volume root (`a/b.pdf`, no leading `./`)."""

    def __init__(self, patterns: list[str] | tuple[str, ...]) -> None:
        self.patterns = tuple(patterns)
        self._compiled = [(p, glob_to_regex(p)) for p in self.patterns]
        # `dir/**` also matches the directory itself, so the walk can prune it.
        self._pruning = [(p, glob_to_regex(p.rstrip("/")[:-3], anchored=True))
                         for p in self.patterns if p.rstrip("/").endswith("/**")]

    def pattern_for(self, path: str, *, is_dir: bool) -> str | None:
        """The pattern excluding `path`, or None when it is archived."""
        for pattern, regex in self._compiled:
            if regex.fullmatch(path):
                return pattern
        if is_dir:
            for pattern, regex in self._pruning:
                if regex.fullmatch(path):
                    return pattern
        return None

    def excludes(self, path: str, *, is_dir: bool = False) -> bool:
        return self.pattern_for(path, is_dir=is_dir) is not None
