"""The plaintext observers run on their own thread beside the pump (worker/pipeline.py):
they see every byte in order, their failures fail the object, and a slow observer
holds back the producer after a few chunks instead of letting them pile up.

Real `age` binary (the harness cache builds it); no database or S3 server: the
observers are what is under test, the archive goes to an in-memory sink.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Iterator

import pyrage
import pytest
import zstandard

from tenant_exit.worker.pipeline import (
    OBSERVER_QUEUE_CHUNKS,
    BytesProducer,
    PipelineError,
    PlainStats,
    stream_object,
)
from tenant_exit.worker.progress import ProgressLog

CHUNK = 64 * 1024


class Sink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data


class Recorder:
    """An observer that keeps what it saw and how it was ended."""

    def __init__(self, fail_write_at: int | None = None, fail_close: bool = False) -> None:
        self.seen = bytearray()
        self.writes = 0
        self.closed = self.aborted = False
        self._fail_write_at = fail_write_at
        self._fail_close = fail_close

    def write(self, chunk: bytes) -> None:
        self.writes += 1
        if self._fail_write_at is not None and self.writes >= self._fail_write_at:
            raise PipelineError(f"observer refused chunk {self.writes}")
        self.seen += chunk

    def close(self) -> None:
        self.closed = True
        if self._fail_close:
            raise PipelineError("observer refused the stream")

    def abort(self) -> None:
        self.aborted = True


class CountingProducer(BytesProducer):
    """BytesProducer in 64 KiB chunks that counts how many it has handed out."""

    def __init__(self, data: bytes) -> None:
        super().__init__("database-test", data)
        self.yielded = 0
        self.finished = False

    def chunks(self) -> Iterator[bytes]:
        for offset in range(0, len(self._data), CHUNK):
            self.yielded += 1
            yield self._data[offset:offset + CHUNK]

    def finish(self, plain: PlainStats) -> None:
        self.finished = True


@pytest.fixture
def recipients() -> tuple[pyrage.x25519.Identity, list[str]]:
    identity = pyrage.x25519.Identity.generate()
    return identity, [str(identity.to_public())]


def _stream(producer: CountingProducer, observers: list[Recorder], recipients: list[str],
            sink: Sink | None = None, zstd_threads: int = 0) -> None:
    stream_object(producer, sink or Sink(), zstd_level=1, zstd_threads=zstd_threads,
                  recipients=recipients, log=ProgressLog(io.StringIO()), observers=observers)


@pytest.mark.parametrize("zstd_threads", [0, 2])
def test_every_observer_sees_the_plaintext_in_order_and_the_archive_holds_it(
        recipients: tuple[pyrage.x25519.Identity, list[str]], zstd_threads: int) -> None:
    """Also with zstd's own threads (TENANT_EXIT_ZSTD_THREADS): the archive is the same
    plaintext."""
    identity, to = recipients
    data = os.urandom(3 * 1024 * 1024 + 17)
    first, second = Recorder(), Recorder()
    sink = Sink()
    producer = CountingProducer(data)
    _stream(producer, [first, second], to, sink, zstd_threads)
    assert bytes(first.seen) == data and bytes(second.seen) == data
    assert first.closed and second.closed and producer.finished
    plain = zstandard.ZstdDecompressor().decompressobj().decompress(
        pyrage.decrypt(bytes(sink.data), [identity]))
    assert hashlib.sha256(plain).digest() == hashlib.sha256(data).digest()


def test_an_observer_that_refuses_a_chunk_fails_the_object_and_every_observer_is_aborted(
        recipients: tuple[pyrage.x25519.Identity, list[str]]) -> None:
    _, to = recipients
    refusing, other = Recorder(fail_write_at=3), Recorder()
    producer = CountingProducer(os.urandom(4 * 1024 * 1024))
    with pytest.raises(PipelineError, match="observer refused chunk 3"):
        _stream(producer, [refusing, other], to)
    assert refusing.aborted and other.aborted
    assert not refusing.closed and not producer.finished
    # The pump stopped reading soon after the refusal, not at the end of the source.
    assert producer.yielded < 64


def test_an_observer_that_refuses_the_stream_at_its_end_fails_the_object(
        recipients: tuple[pyrage.x25519.Identity, list[str]]) -> None:
    _, to = recipients
    refusing = Recorder(fail_close=True)
    with pytest.raises(PipelineError, match="observer refused the stream"):
        _stream(CountingProducer(os.urandom(CHUNK * 5)), [refusing], to)
    assert refusing.closed and refusing.aborted


def test_a_slow_observer_holds_the_producer_back_after_a_few_chunks(
        recipients: tuple[pyrage.x25519.Identity, list[str]]) -> None:
    _, to = recipients
    release = threading.Event()
    entered = threading.Event()

    class Slow(Recorder):
        def write(self, chunk: bytes) -> None:
            entered.set()
            release.wait(30)
            super().write(chunk)

    producer = CountingProducer(os.urandom(CHUNK * 200))
    slow = Slow()
    runner = threading.Thread(target=_stream, args=(producer, [slow], to))
    runner.start()
    try:
        assert entered.wait(30)
        # Give the pump time to run ahead as far as it can.
        threading.Event().wait(1.0)
        # One chunk in the observer, the queue full, one in the pump's hand.
        assert producer.yielded <= OBSERVER_QUEUE_CHUNKS + 2, producer.yielded
    finally:
        release.set()
        runner.join(60)
    assert len(slow.seen) == CHUNK * 200 and slow.closed
