from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from ingest.fetch import FetchConfig, fetch_pages
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
