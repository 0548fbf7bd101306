"""The status patch removes what the new status no longer has (a withdrawn receipt)."""

from tenant_exit.kube.exits import merge_patch


def test_fields_gone_from_the_new_status_are_sent_as_null() -> None:
    old = {"phase": "AwaitingReceipt", "receipt": {"confirmedBy": "a"},
           "deletion": {"notBefore": "t", "x": 1}}
    new = {"phase": "AwaitingReceipt", "deletion": {"x": 1}}

    assert merge_patch(old, new) == {
        "phase": "AwaitingReceipt", "receipt": None, "deletion": {"notBefore": None, "x": 1}
    }


def test_lists_and_new_fields_are_written_whole() -> None:
    old = {"conditions": [{"type": "Ready"}]}
    new = {"conditions": [{"type": "Ready"}, {"type": "Stalled"}], "phase": "Deleted"}

    assert merge_patch(old, new) == new
