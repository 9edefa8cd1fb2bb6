"""A small HTTP proxy on 127.0.0.1 that injects S3 faults between the code and a moto server.

Point a client's endpoint at `FaultProxy.endpoint`; every request is forwarded to the real server
unless a `Fault` matches it first (by method and a piece of the path and query). A fault answers
for the server (a 500, a 503 SlowDown, a dropped connection), cuts a request off half-way through
its body (a write that fails half-way), or strips the conditional headers (a store that ignores
``If-None-Match``/``If-Match``). Each fault fires `times` times, then requests pass again.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)
INTERNAL = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message></Error>"
)
KINDS = ("500", "503", "drop", "half", "strip-conditions")


@dataclass(slots=True)
class Fault:
    """What to do to the requests that match: `kind` is one of `KINDS`."""

    kind: str
    method: str = ""  # "" matches any method
    path: str = ""  # a piece of the path and query ("" matches any)
    times: int = 1  # how many matching requests it hits (-1: every one)
    hits: int = 0

    def matches(self, method: str, target: str) -> bool:
        return (
            (self.times < 0 or self.hits < self.times)
            and (not self.method or self.method == method)
            and self.path in target
        )


@dataclass(slots=True)
class FaultProxy:
    upstream: str
    faults: list[Fault] = field(default_factory=list)
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (method, target, what happened)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def _pick(self, method: str, target: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, target):
                    fault.hits += 1
                    return fault
        return None

    def start(self) -> None:
        proxy = self
        up = urlparse(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {"Content-Type": "application/xml"}).items():
                    self.send_header(k, v)
                if "Content-Length" not in (headers or {}):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _drop(self) -> None:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

            def _any(self) -> None:
                fault = proxy._pick(self.command, self.path)
                kind = fault.kind if fault is not None else "pass"
                proxy.log.append((self.command, self.path, kind))
                if kind == "half":
                    length = int(self.headers.get("Content-Length") or 0)
                    self.rfile.read(length // 2)
                    self._drop()
                    return
                body = self._body()
                if kind == "500":
                    self._answer(500, INTERNAL)
                    return
                if kind == "503":
                    self._answer(503, SLOW_DOWN)
                    return
                if kind == "drop":
                    self._drop()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "transfer-encoding"}
                if kind == "strip-conditions":
                    headers = {
                        k: v for k, v in headers.items() if k.lower() not in ("if-match", "if-none-match")
                    }
                headers["Content-Length"] = str(len(body))
                conn = http.client.HTTPConnection(up.hostname or "127.0.0.1", up.port or 80, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    out = {
                        k: v
                        for k, v in resp.getheaders()
                        if k.lower() not in ("transfer-encoding", "content-length", "connection")
                    }
                    # A HEAD answer has no body but the length of the one a GET would have.
                    out["Content-Length"] = (
                        resp.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data))
                    )
                finally:
                    conn.close()
                self._answer(resp.status, data, out)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
