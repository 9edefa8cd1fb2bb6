"""What the hostile-input tests share: a loopback server that answers with raw bytes, a sampler of
the process's resident memory, a log watcher for tracebacks, and builders of hostile inputs.

Every input is built by the test (no binary blobs). Memory is judged by the growth of the
process's resident set above what it was when the case began (`MEMORY_CAP_MB`), sampled every
millisecond or so by a thread: an input that inflates to hundreds of megabytes holds them long
enough to be seen.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import logging
import os
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.ingest.ingest_helpers import STORY
from tests.ingest.ingest_helpers import article_html as _article_html

__all__ = ["STORY", "article_html"]

#: Most the resident set may grow while one group of hostile inputs is read, in MB.
MEMORY_CAP_MB = 150


def article_html(title: str = "Ferry service extended", **options: Any) -> str:
    """A small news page (`tests/ingest/ingest_helpers.article_html`), titled by default."""
    return _article_html(title, **options)


# --- compression bombs, built in pieces (never the inflated bytes whole) ---------------------------


@functools.cache
def gzip_of_zeros(megabytes: int, *, wbits: int = 16 + zlib.MAX_WBITS) -> bytes:
    """A gzip (or, by `wbits`, zlib / raw deflate) stream of `megabytes` MB of zeros.

    Built without compressing them all: after a full flush, deflate's output for another MB of
    zeros is the same bytes every time, so one such block is repeated and the trailer computed.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(1 << 20)
    first = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    assert packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH) == block
    end = b"\x03\x00"  # an empty final block
    size = megabytes << 20
    if wbits > zlib.MAX_WBITS:  # gzip: CRC-32 and length
        crc = 0
        for _ in range(megabytes):
            crc = zlib.crc32(zeros, crc)
        trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    elif wbits > 0:  # zlib: Adler-32, big-endian
        adler = 1
        for _ in range(megabytes):
            adler = zlib.adler32(zeros, adler)
        trailer = struct.pack(">I", adler)
    else:
        trailer = b""
    return first + block * (megabytes - 1) + end + trailer


def gzip_with_filler(prefix: bytes, fill: bytes, megabytes: int, suffix: bytes) -> bytes:
    """gzip of ``prefix + fill * (megabytes MB / len(fill)) + suffix``, built without holding it
    (repeated full-flush blocks, as `gzip_of_zeros`); `fill` must divide 1 MB."""
    chunk = fill * ((1 << 20) // len(fill))
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    assert packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH) == block
    tail = packer.compress(suffix) + packer.flush()
    crc = zlib.crc32(prefix)
    for _ in range(megabytes):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(suffix, crc)
    size = len(prefix) + len(chunk) * megabytes + len(suffix)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + head + block * megabytes + tail + struct.pack("<II", crc, size & 0xFFFFFFFF)


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


# --- a loopback server that writes whatever a route says --------------------------------------------

Route = Callable[[BaseHTTPRequestHandler], None]


def answer(
    handler: BaseHTTPRequestHandler,
    status: int = 200,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    *,
    length: bool = True,
) -> None:
    """Write a whole HTTP/1.1 answer, raw: status line, `headers` as given, the body."""
    lines = [f"HTTP/1.1 {status} X"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    handler.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def html(body: bytes | str, *, ctype: str = "text/html; charset=utf-8", **extra: str) -> Route:
    data = body.encode() if isinstance(body, str) else body
    return lambda h: answer(h, 200, {"Content-Type": ctype, **extra}, data)


@dataclass
class Server:
    """A threaded HTTP server on 127.0.0.1 whose routes write raw answers; it counts hits per path."""

    routes: dict[str, Route] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    base: str = ""

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@contextmanager
def serve(routes: dict[str, Route] | None = None) -> Iterator[Server]:
    state = Server(routes=dict(routes or {}))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            state.hits[path] += 1
            self.close_connection = True
            route = state.routes.get(path)
            try:
                if route is None:
                    answer(self, 404, {"Content-Type": "text/plain"}, b"no such page")
                else:
                    route(self)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a cap, a timeout): what these tests expect of it

        def log_message(self, format: str, *args: object) -> None:
            return

    server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 256})
    server = server_class(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# --- memory and logs ---------------------------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Peak:
    """Growth of the resident set above its level at the start, in MB (`mb` once the block is left)."""

    start: int = 0
    peak: int = 0

    @property
    def mb(self) -> float:
        return max(0, self.peak - self.start) / 1e6


@contextmanager
def rss_growth() -> Iterator[Peak]:
    """Sample the resident set every millisecond while the block runs."""
    peak = Peak(start=_rss_bytes())
    peak.peak = peak.start
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak.peak = max(peak.peak, _rss_bytes())
            time.sleep(0.001)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()
        peak.peak = max(peak.peak, _rss_bytes())


class Tracebacks(logging.Handler):
    """Collects log records that carry a traceback (an unexpected error somewhere below)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)


@contextmanager
def no_tracebacks() -> Iterator[Tracebacks]:
    handler = Tracebacks()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


# --- WARC records, raw ---------------------------------------------------------------------------------


def warc_record(
    *,
    url: str | None,
    body: bytes,
    http_head: bytes | None = None,
    date: str = "2026-03-19T12:00:00Z",
    extra: dict[str, str] | None = None,
    length: str | None = None,
) -> bytes:
    """One WARC/1.1 response record written by hand (so it can be wrong in any way)."""
    head = (
        http_head
        if http_head is not None
        else b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    block = head + body
    fields = {"WARC-Type": "response", "WARC-Record-ID": "<urn:uuid:00000000-0000-0000-0000-000000000001>"}
    if url is not None:
        fields["WARC-Target-URI"] = url
    fields["WARC-Date"] = date
    fields["Content-Type"] = "application/http; msgtype=response"
    fields.update(extra or {})
    fields["Content-Length"] = length if length is not None else str(len(block))
    text = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return text.encode("utf-8") + block + b"\r\n\r\n"


def gz_members(*records: bytes) -> bytes:
    """Records as a .warc.gz: one gzip member each."""
    return b"".join(gzip_bytes(r) for r in records)


def good_record(url: str, title: str = "Ferry service extended") -> bytes:
    return warc_record(url=url, body=article_html(title).encode())


def json_line(**row: object) -> str:
    return json.dumps(row)


def read_all(stream: io.BufferedIOBase) -> bytes:
    return stream.read()
