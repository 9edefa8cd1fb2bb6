from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from ingest.fetch import FetchConfig, fetch_pages
from ingest.netguard import AddressPolicy, GuardedTransport
from ingest.netstream import is_readable
from ingest.records import PageRef, RawPage

#: How long a test waits for the server thread (never reached when it works).
PATIENCE_S = 30


def test_is_readable_tells_data_and_a_closed_peer_from_an_idle_socket():
    mine, peer = socket.socketpair()
    with mine, peer:
        assert not is_readable(mine)
        peer.sendall(b"x")
        assert is_readable(mine)
        assert mine.recv(1) == b"x"
        assert not is_readable(mine)
        peer.close()
        assert is_readable(mine)  # the next read returns b"": the end of the connection
    assert is_readable(mine)  # closed here: no file descriptor left
    assert is_readable(None)


BODY = b"<html><body><p>" + b"word " * 50 + b"</p></body></html>"


@pytest.fixture
def closing_server() -> Iterator[tuple[int, threading.Event]]:
    """An HTTP server that promises keep-alive, then closes each connection after one answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    closed = threading.Event()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    data = conn.recv(4096)
                    if not data:
                        break
                    request += data
                if request.startswith(b"GET /robots.txt"):
                    conn.sendall(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"
                    )
                else:
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: keep-alive\r\n"
                        + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
                        + BODY
                    )
            closed.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], closed
    finally:
        listener.close()


def test_a_connection_the_server_closed_is_not_reused(closing_server: tuple[int, threading.Event]):
    port, closed = closing_server
    config = FetchConfig(
        user_agent="CopydeskTest/1.0",
        per_host_delay_s=0.0,
        per_host_concurrency=1,
        concurrency=1,
        allow_loopback=True,
        respect_robots=False,
        max_retries=0,
    )
    refs = [PageRef(url=f"http://127.0.0.1:{port}/{n}", source="t", discovered_from="t") for n in range(3)]

    def arrived(outcome: object) -> None:
        # Before the next request starts (one at a time), the server has closed the idle connection.
        assert closed.wait(PATIENCE_S)
        closed.clear()

    outcomes = fetch_pages(refs, config, on_result=arrived)
    assert [o.body if isinstance(o, RawPage) else o for o in outcomes] == [BODY] * 3


class _Recorder(BaseHTTPRequestHandler):
    """Answers every GET; records which client connection (port) asked which host, and which closed."""

    protocol_version = "HTTP/1.1"
    asked: ClassVar[list[tuple[str, int]]] = []
    closed: ClassVar[dict[int, threading.Event]] = {}

    def do_GET(self) -> None:
        port = self.client_address[1]
        self.closed.setdefault(port, threading.Event())
        self.asked.append((self.server.server_address[0], port))  # type: ignore[index]
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def finish(self) -> None:
        super().finish()
        self.closed.setdefault(self.client_address[1], threading.Event()).set()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def three_hosts() -> Iterator[int]:
    """The same keep-alive server on 127.0.0.1, .2 and .3, one port."""
    _Recorder.asked, _Recorder.closed = [], {}
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)]
    port = servers[0].server_address[1]
    servers += [ThreadingHTTPServer((f"127.0.0.{n}", port), _Recorder) for n in (2, 3)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield port
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_connections_are_pooled_per_host_and_the_least_recently_used_idle_host_is_closed(three_hosts: int):
    port = three_hosts
    # Two connections in all, one a host: room for two hosts' pools.
    transport = GuardedTransport(AddressPolicy(allow_loopback=True), max_connections=2, per_host=1)

    async def fetch(hosts: list[int]) -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            for host in hosts:
                response = await client.get(f"http://127.0.0.{host}:{port}/page")
                assert response.content == BODY

    asyncio.run(fetch([1, 2, 1, 3, 1, 2]))
    hosts = [host for host, _ in _Recorder.asked]
    ports = [port for _, port in _Recorder.asked]
    assert hosts == ["127.0.0.1", "127.0.0.2", "127.0.0.1", "127.0.0.3", "127.0.0.1", "127.0.0.2"]
    # host 1 keeps its one connection throughout: it was used last when host 3 came
    assert ports[0] == ports[2] == ports[4]
    # host 3's pool made host 2's, idle and least recently used, close its connection: a new one later
    assert _Recorder.closed[ports[1]].wait(PATIENCE_S)
    assert ports[5] != ports[1]
    assert len(set(ports)) == 4
