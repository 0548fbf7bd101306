"""A database account (`user@host`), as the spec names it and information_schema quotes it."""

from __future__ import annotations

import re
from dataclasses import dataclass

_GRANTEE = re.compile(r"^'(?P<user>(?:[^']|'')*)'@'(?P<host>(?:[^']|'')*)'$")


@dataclass(frozen=True, order=True)
class Account:
    user: str
    host: str

    @classmethod
    def parse(cls, text: str) -> Account:
        """`user@host` (spec) or `'user'@'host'` (information_schema GRANTEE)."""
        quoted = _GRANTEE.match(text)
        if quoted:
            return cls(quoted["user"].replace("''", "'"), quoted["host"].replace("''", "'"))
        user, _, host = text.rpartition("@")
        return cls(user, host)

    def __str__(self) -> str:
        return f"{self.user}@{self.host}"
