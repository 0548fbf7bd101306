"""`kubectl tenantexit`: the next step and who must act, per phase (pure)."""

from __future__ import annotations

import json

from tenant_exit.plugin.main import main
from tenant_exit.plugin.story import PHASES, next_step


def test_every_phase_has_a_next_step_and_a_stall_overrides_it() -> None:
    assert next_step({"status": {"phase": "AwaitingReceipt"}})[1].startswith("the customer")
    stalled = {"status": {"phase": "BackupRunning", "conditions": [
        {"type": "Stalled", "status": "True", "message": "Secret x/y has no key 'password'"}]}}
    what, who = next_step(stalled)
    assert "has no key 'password'" in what and "platform engineer" in who
    assert "operator" in next_step({})[1]
    assert set(PHASES) == {"ReadOnlyLicensed", "BackupRunning", "AwaitingReceipt", "Deleting",
                           "Deleted"}


def test_explain_phase_speaks_json_and_refuses_an_unknown_phase(capsys) -> None:
    import io

    out = io.StringIO()
    assert main(["explain-phase", "Deleted", "-o", "json"], out=out) == 0
    [item] = json.loads(out.getvalue())
    assert item["phase"] == "Deleted" and "certificate" in item["meaning"]
    assert main(["explain-phase", "Gone"], out=io.StringIO()) == 2
    assert "unknown phase Gone" in capsys.readouterr().err
