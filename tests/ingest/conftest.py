"""Fixtures for ingest tests: a real HTTP server on 127.0.0.1 serving a small newsroom and its traps."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from common.storage import resolve
from ingest.archive import RawArchive
from ingest.fetch import FetchConfig
from tests.ingest.ingest_helpers import Response, Site, not_modified, routes


class _Handler(BaseHTTPRequestHandler):
    site: Site

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.site.hits[path] += 1
        self.site.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
        route = self.site.routes.get(path)
        answer = route(self.site.hits[path]) if route else Response(status=404, body=b"no such page")
        if answer.delay_s:
            time.sleep(answer.delay_s)
        answer = not_modified(
            answer, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        )
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.send_length:
                self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout, size limit): expected in these tests

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    """A real HTTP server on 127.0.0.1 (port chosen by the OS) in a thread."""
    handler = type("Handler", (_Handler,), {})
    server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 128})
    server = server_class(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    handler.site = Site(base=base, routes=routes(base))  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler.site  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


@pytest.fixture
def fetch_config() -> FetchConfig:
    """Fast settings for the local server: loopback allowed, tiny timeouts and delays."""
    return FetchConfig(
        user_agent="CopydeskTest/1.0",
        timeout_s=1.5,
        max_bytes=200_000,
        per_host_delay_s=0.0,
        per_host_concurrency=8,
        concurrency=8,
        allow_loopback=True,
        retry_backoff_s=0.05,
        max_retry_after_s=2.0,
    )


@pytest.fixture
def archive(tmp_path: Path) -> RawArchive:
    return RawArchive(resolve(str(tmp_path / "out")))
