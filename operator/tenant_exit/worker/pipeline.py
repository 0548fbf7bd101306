"""plaintext producer -> zstd -> age -> S3 multipart upload, streamed.

Layout, chosen by measurement on the 2-core bench machine (bench/, ~1 GB dump):

  producer ──► [pump thread: SHA-256 + count + tail of the plaintext,
                zstd via the `zstandard` library] ──► `age` process
           ──► [caller thread: SHA-256 of stored bytes, multipart parts] ──► S3

- Compression in-process (`zstandard` releases the GIL while compressing)
  rather than a `zstd` process: the plaintext then crosses one pipe instead of
  three, which cut total CPU for a 1 GB dump from ~11-13 to ~8.5 CPU-seconds and
  wall time by ~30%. Level 1: on SQL with hex BLOBs level 3 compressed no
  better (even slightly worse) and was ~1.5-2x slower.
- Encryption by the `age` binary as a pipe stage rather than pyrage: pyrage's
  `encrypt_io` holds the GIL (it slowed a concurrent Python thread by ~40%) and
  ran at ~330 MB/s; the age binary encrypts at ~950 MB/s on another core.

Profiled against the peers (bench/, py-spy, 3000 clients / 2000 files, SeaweedFS,
2 shared cores under load): the pipeline itself is not where small backups lose.
Of the worker's ~6 s wall (2.1 CPU-s) for a 33 MB dump, the object took 0.9-2.0 s;
importing boto3 (~0.8 s) and the pydantic models of the dictionary and manifest
(~0.5 s) took ~1.2 CPU-s and 2.5-3.7 s wall before the first event; rclone's whole
pipeline took 1.7 s. The worker now builds botocore's client without boto3
(storage/s3client.py), which leaves out s3transfer and multiprocessing; the
pydantic models, pydantic-settings (it imports asyncio) and botocore's own service
model are on the hot path and stay. For documents, the Python walk that feeds tar
its file list (worker/documents.py) held the GIL for ~2.6 s of 3.6 s beside the
pump. Both are outside this module. Here the caller thread's part buffer copied
every stored byte twice: MultipartUpload now joins chunks once per part (CPU of
writing 900 MB of chunks: 0.71-0.91 s -> 0.33-0.43 s).

Plaintext observers (`PlainObserver`) see every chunk in order, on their own
thread beside the pump (`_ObserverFeed`): the restore verification tees the dump
into a scratch server's client there, and the completeness check scans the dump's
statements. A slow observer slows the pump once the feed's few chunks are
queued: the archive and the observer see the same bytes, and nothing is spooled.
Each is closed after the producer finished and before the caller completes the
upload, so an observer that refuses the stream fails the object; on any failure
every observer is aborted.

Memory is bounded by pipe buffers plus the multipart part size (parts in flight
+ the one filling); nothing is spooled to disk. Any failure kills every stage
and aborts the upload — and a producer that *ended* but failed (non-zero exit,
truncated dump) is checked BEFORE the upload is completed, so a broken stream
never becomes an object.
"""

from __future__ import annotations

import hashlib
import queue
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import zstandard

from tenant_exit.worker.processes import find_tool, read_chunks, spawn, stop, widen_pipe
from tenant_exit.worker.progress import ProgressLog

TAIL_BYTES = 4096
OBSERVER_QUEUE_CHUNKS = 8
"""Chunks (each at most a pipe read, 1 MiB) waiting for the observers: enough for
the compression and the observers to overlap, bounded so nothing is spooled."""


class PipelineError(RuntimeError):
    """A stage failed; the message says which and why, without secrets."""


@dataclass
class PlainStats:
    """What the pump saw of the plaintext."""

    size: int = 0
    sha256: str = ""
    tail: bytes = b""


@dataclass(frozen=True)
class StreamDigests:
    plaintext_bytes: int
    plaintext_sha256: str
    stored_bytes: int
    stored_sha256: str
    seconds: float


class ByteSink(Protocol):
    """Where stored bytes go: a `MultipartUpload` (or, in the benchmark, a null sink)."""

    def write(self, data: bytes) -> None: ...


class PlainObserver(Protocol):
    """Something else that reads the plaintext as it passes, in order, beside the
    archive: the restore verification's load into the scratch server (issue 13),
    the completeness scan of a dump (issue 10), the read-back of a documents tar.
    The seam keeps them out of the pump itself."""

    def write(self, chunk: bytes) -> None:
        """Take one chunk; raise PipelineError to fail the object."""

    def close(self) -> None:
        """The stream ended and the producer succeeded: finish, raise PipelineError
        if what was observed is not acceptable."""

    def abort(self) -> None:
        """The object failed (perhaps in another observer's close): stop without
        judging. Called once on every observer, also after its own close."""


class Producer(Protocol):
    """A plaintext source: a running process (or an in-memory document)."""

    label: str

    def start(self) -> None: ...

    def chunks(self) -> Iterator[bytes]: ...

    def finish(self, plain: PlainStats) -> None:
        """Wait for the source to end; raise PipelineError if it failed or the
        stream it produced is incomplete."""

    def kill(self) -> None: ...


class BytesProducer:
    """A small in-memory plaintext (the data dictionary)."""

    def __init__(self, label: str, data: bytes) -> None:
        self.label = label
        self._data = data

    def start(self) -> None:
        return None

    def chunks(self) -> Iterator[bytes]:
        view = memoryview(self._data)
        for offset in range(0, len(view), 1 << 20):
            yield bytes(view[offset:offset + (1 << 20)])

    def finish(self, plain: PlainStats) -> None:
        return None

    def kill(self) -> None:
        return None


def zstd_version() -> str:
    libzstd = ".".join(map(str, zstandard.ZSTD_VERSION))
    return f"zstandard {zstandard.__version__} (libzstd {libzstd})"


def age_argv(recipients: list[str]) -> list[str]:
    argv = [find_tool("age"), "--encrypt"]
    for recipient in recipients:
        argv += ["--recipient", recipient]
    return argv


class _ObserverFeed(threading.Thread):
    """Runs the plaintext observers beside the pump, in order, on their own thread.

    The completeness scan holds the GIL for most of its work while zstd releases
    it, so on one thread they took turns: py-spy of a 1.5 GB dump (bench/) put
    ~37% of the pump's samples in compression and ~32% in the scan, with the pump
    busy for the whole object. Beside each other they overlap. The queue is
    bounded: a slow observer (the restore load) still slows the pump."""

    def __init__(self, label: str, observers: Sequence[PlainObserver]) -> None:
        super().__init__(name=f"observers-{label}", daemon=True)
        self._observers = tuple(observers)
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=OBSERVER_QUEUE_CHUNKS)
        self.error: BaseException | None = None

    def put(self, chunk: bytes) -> None:
        """Hand one chunk on; raises an observer's error so the pump stops reading."""
        if self.error is not None:
            raise self.error
        self._queue.put(chunk)

    def end(self) -> None:
        self._queue.put(None)

    def run(self) -> None:
        # After an error it keeps taking chunks (and drops them), so the pump never
        # blocks on a full queue; the pump raises the error at its next put.
        while (chunk := self._queue.get()) is not None:
            if self.error is not None:
                continue
            try:
                for observer in self._observers:
                    observer.write(chunk)
            except BaseException as err:
                self.error = err


class _Pump(threading.Thread):
    """Reads the producer, hashes and counts the plaintext, compresses it and writes
    the compressed stream into age's stdin; observers get each chunk through `feed`."""

    def __init__(self, producer: Producer, sink: subprocess.Popen[bytes], level: int,
                 feed: _ObserverFeed | None = None, threads: int = 0) -> None:
        super().__init__(name=f"pump-{producer.label}", daemon=True)
        self._producer = producer
        self._feed = feed
        self._sink = sink
        self._level = level
        self._threads = threads
        self.stats = PlainStats()
        self.error: BaseException | None = None

    def run(self) -> None:
        hasher = hashlib.sha256()
        compressor = zstandard.ZstdCompressor(level=self._level,
                                              threads=self._threads).compressobj()
        tail = b""
        stdin = self._sink.stdin
        assert stdin is not None
        try:
            for chunk in self._producer.chunks():
                hasher.update(chunk)
                self.stats.size += len(chunk)
                tail = (tail + chunk[-TAIL_BYTES:])[-TAIL_BYTES:]
                if self._feed is not None:
                    self._feed.put(chunk)
                compressed = compressor.compress(chunk)
                if compressed:
                    stdin.write(compressed)
            stdin.write(compressor.flush())
        except BaseException as err:  # re-raised by the caller thread
            self.error = err
        finally:
            if self._feed is not None:
                self._feed.end()
            self.stats.sha256 = hasher.hexdigest()
            self.stats.tail = tail
            try:
                stdin.close()
            except OSError as err:
                self.error = self.error or err


def stream_object(producer: Producer, upload: ByteSink, *, zstd_level: int,
                  zstd_threads: int = 0,
                  recipients: list[str], log: ProgressLog,
                  observers: Sequence[PlainObserver] = ()) -> StreamDigests:
    """Run one producer through zstd and age into `upload` (started, not completed);
    `observers` see the plaintext and may refuse it once the producer has ended.

    Returns the digests; the caller completes the upload afterwards. On any error
    every stage is stopped and the exception propagates (the caller's `with
    MultipartUpload` aborts the upload).
    """
    started = time.monotonic()
    age = None
    pump: _Pump | None = None
    feed = _ObserverFeed(producer.label, observers) if observers else None
    try:
        producer.start()
        age, age_err = spawn(age_argv(recipients), stdin=subprocess.PIPE)
        assert age.stdin is not None and age.stdout is not None
        widen_pipe(age.stdin.fileno())
        if feed is not None:
            feed.start()
        pump = _Pump(producer, age, zstd_level, feed, zstd_threads)
        pump.start()

        hasher = hashlib.sha256()
        stored = 0
        for chunk in read_chunks(age.stdout.fileno()):
            hasher.update(chunk)
            stored += len(chunk)
            upload.write(chunk)
            log.progress(producer.label, plaintextBytes=pump.stats.size, storedBytes=stored,
                         seconds=round(time.monotonic() - started, 1))
        pump.join()
        if feed is not None:
            feed.join()
        failed = pump.error or (feed.error if feed is not None else None)
        if failed is not None:
            if isinstance(failed, PipelineError):
                raise failed
            raise PipelineError(f"{producer.label}: reading the source failed: "
                                f"{type(failed).__name__}: {failed}") from failed
        producer.finish(pump.stats)
        for observer in observers:  # after the producer: a truncated dump fails as such
            observer.close()
        if age.wait() != 0:
            raise PipelineError(f"{producer.label}: age exited with {age.returncode}: "
                                f"{age_err.text().strip()[-500:]}")
        digests = StreamDigests(
            plaintext_bytes=pump.stats.size, plaintext_sha256=pump.stats.sha256,
            stored_bytes=stored, stored_sha256=hasher.hexdigest(),
            seconds=time.monotonic() - started)
        log.progress(producer.label, force=True, plaintextBytes=digests.plaintext_bytes,
                     storedBytes=stored, seconds=round(digests.seconds, 1))
        return digests
    except BaseException:
        producer.kill()
        for observer in observers:
            observer.abort()
        stop(age)
        if pump is not None:
            pump.join(10)
        if feed is not None and feed.is_alive():
            feed.join(10)
        raise
