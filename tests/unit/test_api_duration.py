"""Go durations (spec.deletion.gracePeriod): what the CRD pattern admits parses,
everything else is refused rather than guessed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from tenant_exit.api.types import GoDuration, parse_go_duration

VALID = [
    ("72h", timedelta(hours=72)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("10s", timedelta(seconds=10)),
    ("0s", timedelta(0)),
    ("90m", timedelta(minutes=90)),
    ("2.5h", timedelta(hours=2, minutes=30)),
    ("1h1m1s", timedelta(hours=1, minutes=1, seconds=1)),
    ("500ms", timedelta(milliseconds=500)),
    ("5m500ms", timedelta(minutes=5, milliseconds=500)),
    ("250us", timedelta(microseconds=250)),
    ("1000000ns", timedelta(milliseconds=1)),
    ("30m1h", timedelta(minutes=90)),
    ("168h", timedelta(days=7)),
]

INVALID = ["", "72", "h", "3d", "1w", "-1h", "+1h", "1H", "1h 30m", " 1h", "1h30", "1.h",
           ".5h", "1,5h", "1µs", "one hour", "1hh"]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_durations(text: str, expected: timedelta) -> None:
    assert parse_go_duration(text) == expected


@pytest.mark.parametrize("text", INVALID)
def test_invalid_durations_are_refused_and_named(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_go_duration(text)


@pytest.mark.parametrize("text", [t for t, _ in VALID] + INVALID)
def test_the_parser_and_the_crd_pattern_agree(text: str) -> None:
    """Whatever the API server admits the operator can parse, and nothing more."""
    try:
        TypeAdapter(GoDuration).validate_python(text)
        admitted = True
    except ValidationError:
        admitted = False
    try:
        parse_go_duration(text)
        parsed = True
    except ValueError:
        parsed = False
    assert admitted == parsed
