"""A fault-injecting HTTP proxy in front of the real S3 server of the harness.

Clients (the backup worker, the operator) are pointed at the proxy's endpoint;
it forwards every request unchanged to the real server and returns the real
server's answer, except where a test asked otherwise:

- `fail(operation, nth=...)`: the nth matching request is forwarded (so the store
  has it) but the client gets `500 InternalError`, as a store that fails while
  answering: the client cannot tell whether the write happened and must retry;
- `hold(operation, nth=...)`: the nth matching request waits until the test
  releases it: the worker is stalled mid-stream at a known point, where the test
  kills the worker or stops the database. A held request whose client has died
  meanwhile is dropped, as it would never have reached a real store;
- `delay(operation, seconds)`: every matching request waits before it is
  forwarded: a slow store, which stretches the backup in time.

This is a test harness component, not a mock of S3: buckets, uploads, parts and
errors other than the injected ones are the real server's. The proxy never
alters signatures or bodies, so an S3 server that checks signatures sees what
the client signed (the Host header is passed on as the client sent it).
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

# Hop-by-hop headers (RFC 9110 7.6.1) and Expect: the proxy answers 100-continue
# itself (BaseHTTPRequestHandler does) and forwards the whole body at once.
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
        "trailer", "upgrade", "expect", "proxy-authorization", "proxy-authenticate"}
_HOLD_TIMEOUT = 300.0

INTERNAL_ERROR = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
                  b"<Message>We encountered an internal error. Please try again.</Message>"
                  b"</Error>")


def s3_operation(method: str, path: str, query: str) -> str:
    """The S3 API operation of a path-style request (what the proxy matches on)."""
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    has_key = path.strip("/").count("/") >= 1
    if method == "PUT" and "partNumber" in params and "uploadId" in params:
        return "UploadPart"
    if method == "POST" and "uploads" in params:
        return "CreateMultipartUpload"
    if method == "POST" and "uploadId" in params:
        return "CompleteMultipartUpload"
    if method == "DELETE" and "uploadId" in params:
        return "AbortMultipartUpload"
    if method == "GET" and "uploads" in params:
        return "ListMultipartUploads"
    if method == "GET" and "uploadId" in params:
        return "ListParts"
    if method == "PUT":
        return "PutObject" if has_key else "CreateBucket"
    if method == "GET":
        return "GetObject" if has_key else "ListObjects"
    if method == "HEAD":
        return "HeadObject" if has_key else "HeadBucket"
    if method == "DELETE":
        return "DeleteObject" if has_key else "DeleteBucket"
    return f"{method} {path}"


@dataclass
class Seen:
    """One request the proxy received: what it was and what the client got back."""

    operation: str
    key: str
    query: dict[str, list[str]]
    at: float
    status: int = 0
    injected: str | None = None


@dataclass
class Rule:
    """Matches requests by operation (and a substring of the object key)."""

    operation: str
    action: str  # "fail" | "hold" | "delay"
    key_contains: str = ""
    nth: int = 1
    count: int = 1
    seconds: float = 0.0
    matched: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)
    fired: int = 0

    def release(self) -> None:
        """Let held requests (and any later matching one) through."""
        self.released.set()

    def wait_holding(self, timeout: float = 120.0) -> None:
        if not self.holding.wait(timeout):
            raise TimeoutError(f"no {self.operation} request reached the proxy's hold "
                               f"within {timeout:.0f}s")


class S3FaultProxy:
    """`start()`/`stop()` or a context manager; `endpoint_url` is what clients use."""

    def __init__(self, target_url: str, host: str = "127.0.0.1") -> None:
        target = urllib.parse.urlsplit(target_url)
        if target.scheme != "http" or target.hostname is None:
            raise ValueError(f"the proxy forwards plain HTTP only, not {target_url}")
        self.target_host = target.hostname
        self.target_port = target.port or 80
        self.host = host
        self.seen: list[Seen] = []
        self.rules: list[Rule] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None, "the proxy is not started"
        return f"http://{self.host}:{self._server.server_address[1]}"

    # -- what a test asks for --------------------------------------------
    def fail(self, operation: str, *, nth: int = 1, count: int = 1,
             key_contains: str = "") -> Rule:
        return self._add(Rule(operation, "fail", key_contains, nth, count))

    def hold(self, operation: str, *, nth: int = 1, count: int = 1, key_contains: str = "",
             at_most: float = _HOLD_TIMEOUT) -> Rule:
        """Hold matching requests until `release()`, each at most `at_most` seconds
        (below the client's read timeout, a hold is a slow store, not a lost answer).
        `operation="*"` matches every operation."""
        return self._add(Rule(operation, "hold", key_contains, nth, count, at_most))

    def delay(self, operation: str, seconds: float, *, key_contains: str = "") -> Rule:
        return self._add(Rule(operation, "delay", key_contains, 1, 1 << 30, seconds))

    def clear(self) -> None:
        with self._lock:
            for rule in self.rules:
                rule.release()
            self.rules.clear()

    def requests(self, operation: str, key_contains: str = "") -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.operation == operation
                    and key_contains in s.key]

    # -- life cycle -------------------------------------------------------
    def start(self) -> S3FaultProxy:
        proxy = self

        class Handler(_Forwarder):
            owner = proxy

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="s3-fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> S3FaultProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- used by the handler -------------------------------------------------
    def _add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def _decide(self, seen: Seen) -> list[Rule]:
        """The rules that apply to this request (counted under the lock)."""
        applied = []
        with self._lock:
            self.seen.append(seen)
            for rule in self.rules:
                if rule.operation not in ("*", seen.operation) or \
                        rule.key_contains not in seen.key:
                    continue
                rule.matched += 1
                if rule.nth <= rule.matched < rule.nth + rule.count:
                    rule.fired += 1
                    applied.append(rule)
        return applied


class _Forwarder(BaseHTTPRequestHandler):
    owner: S3FaultProxy
    protocol_version = "HTTP/1.1"  # keep-alive, as S3 clients expect

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the requests are recorded in `S3FaultProxy.seen`."""

    def do_GET(self) -> None:
        self._handle()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        body = self._body()
        path = urllib.parse.unquote(parts.path)
        seen = Seen(s3_operation(self.command, path, parts.query),
                    path.strip("/").partition("/")[2],
                    urllib.parse.parse_qs(parts.query, keep_blank_values=True), time.time())
        rules = self.owner._decide(seen)
        for rule in rules:
            if rule.action == "delay":
                time.sleep(rule.seconds)
            elif rule.action == "hold":
                rule.holding.set()
                rule.released.wait(rule.seconds)
                if self._client_gone():
                    # A killed client's request never reaches a real store.
                    seen.injected = "dropped"
                    self.close_connection = True
                    return
        status, headers, answer = self._forward(body)
        if any(rule.action == "fail" for rule in rules):
            seen.injected = "500"
            status, answer = 500, INTERNAL_ERROR
            headers = [("Content-Type", "application/xml")]
        seen.status = status
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._reply(status, headers, answer)

    def _client_gone(self) -> bool:
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(self.owner.target_host, self.owner.target_port,
                                                timeout=120)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            headers["Content-Length"] = str(len(body))
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP]
            return response.status, kept, answer
        finally:
            connection.close()

    def _reply(self, status: int, headers: list[tuple[str, str]], answer: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            if key.lower() != "content-length":
                self.send_header(key, value)
        if self.command == "HEAD":
            length = dict((k.lower(), v) for k, v in headers).get("content-length", "0")
            self.send_header("Content-Length", length)
        else:
            self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)


@contextlib.contextmanager
def fault_proxy(target_url: str) -> Iterator[S3FaultProxy]:
    with S3FaultProxy(target_url) as proxy:
        yield proxy
