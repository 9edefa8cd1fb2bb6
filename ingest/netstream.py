"""A connection's stream whose "has the server closed it?" check costs one poll, not three syscalls.

On every request it starts and every response it ends, httpcore's pool asks each of its idle
connections whether its socket is readable (an idle HTTP/1.1 connection that is readable has
been closed by the server). Through anyio, that question first builds all the socket's
attributes, peer and local address included: a ``getpeername`` and a ``getsockname`` call per
idle connection, per request. With 40 connections open (20 hosts, two each), that was a quarter
of the fetcher's CPU (``make bench``). This stream keeps the socket it was opened on and polls it.
"""

from __future__ import annotations

import select
import socket
import ssl
from typing import Any

import httpcore


class PolledStream(httpcore.AsyncNetworkStream):
    """`inner`, with the ``is_readable`` check done on the socket kept at connection time."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return PolledStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return is_readable(self._socket)
        return self._inner.get_extra_info(info)


def is_readable(sock: socket.socket | None) -> bool:
    """Whether a read on `sock` would return at once (data, or the end of a closed connection);
    a socket already closed, or none, counts as readable, as httpcore counts it."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
