"""Keyed pseudonyms and the transforms that make identifying columns publishable.

A pseudonym is `k<version>_<26 base32 chars>`: the first 128 bits of
HMAC-SHA256(key, domain NUL value). Why each part:
- keyed, never a plain hash: a BSN has 9 digits, so anyone could hash all 10^9
  candidates in minutes and read the table back;
- the domain (`client`, `employee`) in the message: the same number used as a
  client id and an employee id gets two unrelated pseudonyms, while every column
  of one domain joins across tables;
- the key version in the pseudonym: after a rotation old and new pseudonyms are
  visibly different and never compared by mistake;
- 128 bits: collisions are out of reach for any tenant's row count, and the
  value stays short enough for a spreadsheet cell.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

MIN_KEY_BYTES = 32
CACHE_ENTRIES = 65_536
_POSTCODE = re.compile(r"^\s*([1-9][0-9]{3})\s*[A-Za-z]{0,2}\s*$")


class PseudonymKeyError(ValueError):
    """The key is missing or too short; the message never contains key material."""


class Pseudonymiser:
    def __init__(self, key: bytes, version: int) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise PseudonymKeyError(
                f"pseudonymisation key v{version} has {len(key)} bytes; at least "
                f"{MIN_KEY_BYTES} random bytes are required")
        self._key = key
        self.version = version
        self.prefix = f"k{version}_"

    def pseudonym(self, domain: str, value: Any) -> str | None:
        if value is None:
            return None
        return self._pseudonym(domain, canonical_bytes(value))

    @functools.lru_cache(maxsize=CACHE_ENTRIES)  # noqa: B019 - one instance per run
    def _pseudonym(self, domain: str, value: bytes) -> str:
        # Ids repeat (a client id in every visit row): the cache saves an HMAC per
        # repeat; bounded, so memory stays flat at any table size.
        message = domain.encode() + b"\x00" + value
        digest = hmac.new(self._key, message, hashlib.sha256).digest()[:16]
        return self.prefix + base64.b32encode(digest).decode().rstrip("=").lower()


def canonical_bytes(value: Any) -> bytes:
    """One byte form per value, so 42, Decimal('42') and '42' pseudonymise alike
    (an id may be INT in one table and CHAR in another)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, bool):
        return b"1" if value else b"0"
    if isinstance(value, Decimal):
        value = format(value.normalize(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat().encode()
    return str(value).strip().encode()


def birth_year(value: Any) -> int | None:
    """DATE/DATETIME -> year; dates before 1970 are ordinary dates here."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.year
    raise TypeError(f"birthYear needs a date, got {type(value).__name__}")


def postcode_area(value: Any) -> str | None:
    """`8911 AB` -> `8911`; anything that is not a Dutch postcode -> None, because
    publishing a malformed value might publish something identifying."""
    if value is None:
        return None
    found = _POSTCODE.match(str(value))
    return found.group(1) if found else None
