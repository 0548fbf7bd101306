"""When the revert record is gone, a cancel must not pretend it restored anything:
`lost_changes` says what the exit changed that only the record can undo."""

from __future__ import annotations

from typing import Any

import pytest

from tenant_exit.phases.revert_record import lost_changes
from tests.support.exits import example_spec, make_exit

ENFORCED = "2027-03-01T00:00:00Z"


def exit_with(mode: str, read_only: dict[str, Any] | None) -> Any:
    spec = example_spec()
    spec["readOnly"] = {"database": mode}
    status: dict[str, Any] = {"phase": "ReadOnlyLicensed"}
    if read_only is not None:
        status["readOnly"] = read_only
    return make_exit(spec=spec, status=status)


@pytest.mark.parametrize(("mode", "read_only", "lost"), [
    pytest.param("RevokeWrites", {"enforcedAt": ENFORCED, "accounts": ["'app'@'%'"]},
                 "the write grants of 'app'@'%'", id="revoked-grants"),
    pytest.param("ServerReadOnly", {"enforcedAt": ENFORCED}, "the read_only flag of",
                 id="server-flag"),
    pytest.param("RevokeWrites", {"enforcedAt": ENFORCED, "accounts": []}, None,
                 id="no-account-had-writes"),
    pytest.param("None", {"enforcedAt": ENFORCED}, None, id="app-flag-only"),
    pytest.param("RevokeWrites", None, None, id="never-enforced"),
])
def test_what_a_lost_record_would_have_restored(
        mode: str, read_only: dict[str, Any] | None, lost: str | None) -> None:
    found = lost_changes(exit_with(mode, read_only))
    if lost is None:
        assert found is None
    else:
        assert found is not None and found.startswith(lost)
