"""The sandbox-line stage: exactly MariaDB's first line goes, wherever chunks split."""

from __future__ import annotations

import pytest

from tenant_exit.worker.sandbox_line import MAX_HEAD, SANDBOX_LINE, SandboxLineFilter

# What Debian's mariadb-dump 10.11.x writes: the line, a space, a newline.
FIRST = SANDBOX_LINE + b" \n"
BODY = (b"-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB\n"
        b"CREATE TABLE `t` (`id` int);\nINSERT INTO `t` VALUES (1);\n-- Dump completed\n")


def run(chunks: list[bytes]) -> tuple[bytes, bool]:
    stage = SandboxLineFilter()
    out = list(stage(chunks))
    assert all(out), "no empty chunks downstream"
    return b"".join(out), stage.removed


def split_every(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 2, 7, len(SANDBOX_LINE) - 1, len(SANDBOX_LINE),
                                  len(FIRST), len(FIRST) + 1, 1 << 20])
def test_line_removed_however_the_chunks_split(size: int) -> None:
    out, removed = run(split_every(FIRST + BODY, size))
    assert out == BODY
    assert removed


def test_line_without_trailing_space_and_with_crlf() -> None:
    assert run([SANDBOX_LINE + b"\n" + BODY]) == (BODY, True)
    assert run([SANDBOX_LINE + b"\r\n" + BODY]) == (BODY, True)


@pytest.mark.parametrize("stream", [
    BODY,                                              # MySQL's mysqldump, older MariaDB
    b"/*M!999999\\- enable the sandbox mode */ and more\n" + BODY,   # not exactly the line
    b"/*M!999999\\- something else */\n" + BODY,
    b"-- x\n" + FIRST + BODY,                          # only ever the FIRST line
])
def test_other_streams_pass_untouched(stream: bytes) -> None:
    for size in (1, 5, 64, 1 << 20):
        assert run(split_every(stream, size)) == (stream, False)


def test_only_the_line() -> None:
    assert run([FIRST]) == (b"", True)
    assert run(split_every(SANDBOX_LINE, 3)) == (b"", True)  # not even a newline
    assert run([]) == (b"", False)


def test_bounded_head_a_long_first_line_is_not_held() -> None:
    """A first line that starts like the sandbox line but goes on is decided after
    MAX_HEAD bytes, not buffered to its end."""
    stage = SandboxLineFilter()
    long_line = SANDBOX_LINE + b" " * (MAX_HEAD * 4)
    source = iter([*split_every(long_line, 16), b"\n", BODY])
    out = stage(source)
    first = next(out)
    assert len(first) <= MAX_HEAD + 16
    assert first + b"".join(out) == long_line + b"\n" + BODY
    assert not stage.removed
