"""A list+watch mirror of one kind of object, kept in memory by a thread.

A pass that finds nothing to do should cost no API request: with 1,000 exits held
in their licence, the GETs of each exit's namespace and the LIST of its claims
were ~70% of a settle's handler time (issue 15). The mirror answers those reads
from memory. It is only ever asked whether something *needs* doing; whatever is
then done acts on fresh reads (reconcile/passes.py), so a mirror a few
milliseconds behind can delay an action to the next pass but never aim one.

Objects arrive as raw JSON and are kept as small projections: deserializing
into kubernetes-client models costs a Configuration() per object, which takes
logging's module lock (~13% of a settle's samples). `fresh` is False until the
first LIST is in, after any watch error until the next LIST, and when nothing
(event, bookmark, reconnect) was heard for longer than a watch may be silent.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from kubernetes.watch.watch import iter_resp_lines

log = logging.getLogger(__name__)

T = TypeVar("T")

WATCH_SECONDS = 60
"""Server-side timeout of one watch request: a silently dead connection is noticed
within this plus the read timeout's margin."""
_READ_MARGIN = 15
_SILENT_SECONDS = WATCH_SECONDS + 2 * _READ_MARGIN
_BACKOFF = (1.0, 2.0, 5.0, 10.0)

Lister = Callable[[], Any]
"""The LIST call, with `_preload_content=False` (a urllib3 response)."""
Watcher = Callable[[str, int, tuple[int, int]], Any]
"""The watch call from a resourceVersion: (resource_version, timeout_seconds,
_request_timeout) -> a streaming urllib3 response."""


@dataclass(frozen=True)
class Source(Generic[T]):
    """How to list and watch one kind, and what of each object to keep."""

    kind: str
    list: Lister
    watch: Watcher
    project: Callable[[dict[str, Any]], T]
    group: Callable[[dict[str, Any]], str] = lambda raw: ""
    """The key objects are grouped by (a namespaced kind's namespace)."""


class Informer(Generic[T]):
    """The projections of every object of one kind, by group and name."""

    def __init__(self, source: Source[T]) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._groups: dict[str, dict[str, T]] = {}
        self._synced = False
        self._heard = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"informer-{source.kind}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    @property
    def fresh(self) -> bool:
        with self._lock:
            return self._synced and time.monotonic() - self._heard < _SILENT_SECONDS

    def get(self, name: str, group: str = "") -> T | None:
        with self._lock:
            return self._groups.get(group, {}).get(name)

    def in_group(self, group: str) -> list[T]:
        with self._lock:
            return list(self._groups.get(group, {}).values())

    def _run(self) -> None:
        failures = 0
        version: str | None = None
        while not self._stop.is_set():
            try:
                if version is None:
                    version = self._relist()
                version = self._follow(version)
                failures = 0
            except Exception as error:  # any failure: relist from scratch after a pause
                self._forget_sync()
                version = None
                delay = _BACKOFF[min(failures, len(_BACKOFF) - 1)]
                failures += 1
                # The type only: an API error's text can echo the request.
                log.warning("watch of %s failed (%s); relisting in %.0f s",
                            self._source.kind, type(error).__name__, delay)
                self._stop.wait(delay)

    def _relist(self) -> str:
        response = self._source.list()
        try:
            listing = json.loads(response.data)
        finally:
            response.release_conn()
        groups: dict[str, dict[str, T]] = {}
        for raw in listing.get("items") or []:
            groups.setdefault(self._source.group(raw), {})[raw["metadata"]["name"]] = (
                self._source.project(raw))
        with self._lock:
            self._groups = groups
            self._synced = True
            self._heard = time.monotonic()
        return str(listing["metadata"]["resourceVersion"])

    def _follow(self, version: str) -> str | None:
        """One watch request; the version to go on from, or None to relist (410 Gone:
        the version is older than the server keeps)."""
        response = self._source.watch(version, WATCH_SECONDS,
                                      (10, WATCH_SECONDS + _READ_MARGIN))
        try:
            self._touch()
            for line in _lines(response):
                if self._stop.is_set():
                    return version
                event = json.loads(line)
                raw = event.get("object") or {}
                kind = event.get("type")
                if kind == "ERROR":
                    if raw.get("code") == 410:
                        self._forget_sync()
                        return None
                    raise RuntimeError(f"watch of {self._source.kind}: HTTP {raw.get('code')}")
                version = str(raw["metadata"]["resourceVersion"])
                if kind in ("ADDED", "MODIFIED"):
                    self._put(raw)
                elif kind == "DELETED":
                    self._drop(raw)
                self._touch()
        finally:
            response.close()
            response.release_conn()
        return version

    def _put(self, raw: dict[str, Any]) -> None:
        projected = self._source.project(raw)
        with self._lock:
            self._groups.setdefault(self._source.group(raw), {})[raw["metadata"]["name"]] = (
                projected)

    def _drop(self, raw: dict[str, Any]) -> None:
        with self._lock:
            self._groups.get(self._source.group(raw), {}).pop(raw["metadata"]["name"], None)

    def _touch(self) -> None:
        with self._lock:
            self._heard = time.monotonic()

    def _forget_sync(self) -> None:
        with self._lock:
            self._synced = False


def _lines(response: Any) -> Iterator[str]:
    for line in iter_resp_lines(response):
        if line and not line.isspace():
            yield line
