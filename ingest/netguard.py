"""Which addresses Copydesk may connect to, checked when the connection is made.

A page can name any host, and any host name can resolve to an address inside our own network
(``localhost``, ``10.0.0.5``, the cloud metadata service at ``169.254.169.254``). So the check runs
after DNS resolution, on the address actually connected to, inside httpx's connection layer: every
redirect hop opens its connection through it, and a name that resolves to a public address at
check time cannot point elsewhere at connect time (DNS rebinding), since we connect to the address
we checked.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from ingest.errors import Refused
from ingest.netstream import PolledStream

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Loopback and other non-public addresses (private, link-local, CGNAT...) are refused unless allowed."""

    allow_loopback: bool = False
    allow_private: bool = False

    def why_refused(self, address: IPAddress) -> str | None:
        """The reason `address` is refused, or None when it may be connected to.

        An IPv6 address that carries an IPv4 one (mapped ``::ffff:a.b.c.d``, compatible
        ``::a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo, SIIT) is judged by the
        IPv4 address it leads to; deprecated site-local ``fec0::/10`` and local-use NAT64
        ``64:ff9b:1::/48`` are private.
        """
        if isinstance(address, ipaddress.IPv6Address):
            inner = embedded_ipv4(address)
            if inner is not None:
                reason = self.why_refused(inner)
                return f"{address} leads to {inner}: {reason}" if reason is not None else None
            if address in _SITE_LOCAL or address in _LOCAL_NAT64:
                return None if self.allow_private else f"{address} is a private or reserved address"
        if address.is_unspecified or address.is_multicast:
            return f"{address} is not a host address"
        if address.is_loopback:
            return None if self.allow_loopback else f"{address} is a loopback address"
        if not address.is_global:
            if self.allow_private:
                return None
            kind = "link-local" if address.is_link_local else "private or reserved"
            return f"{address} is a {kind} address"
        return None


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_SIIT = ipaddress.IPv6Network("::ffff:0:0:0/96")
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for, in the forms that route to one; None otherwise."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64 or address in _SIIT:
        return low
    if address in _COMPATIBLE and int(address) > 1:  # :: and ::1 are not IPv4-compatible forms
        return low
    return None


async def resolve_checked(host: str, port: int, policy: AddressPolicy) -> list[str]:
    """Resolve `host` and return its addresses, or raise `Refused` if any of them is not allowed.

    Every address must pass: a name with one public and one private address is refused, since
    the connection could go to either.
    """
    import anyio

    infos = await anyio.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        reason = policy.why_refused(ip)
        if reason is not None:
            raise Refused(f"refused to connect to {host}: {reason}")
        if str(ip) not in addresses:
            addresses.append(str(ip))
    if not addresses:
        raise httpcore.ConnectError(f"{host} does not resolve")
    return addresses


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that connects only to addresses the policy allows."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        import anyio

        try:
            with anyio.fail_after(timeout):
                addresses = await resolve_checked(host, port, self._policy)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:  # socket.gaierror and friends
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        last: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
                return PolledStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise Refused("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx transport whose every connection goes through the address policy.

    TLS still verifies the certificate against the host name of the URL (httpcore passes it as
    the SNI / server name), only the TCP connection is made to the checked address.

    Connections are pooled per host (`HostPools`): at most `max_connections` in all stay open
    while idle, `per_host` to a host.
    """

    def __init__(self, policy: AddressPolicy, *, max_connections: int, per_host: int | None = None) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        super().__init__(limits=limits, trust_env=False)
        # httpx builds its pool without a way to pass a network backend; rebuild it with ours.
        ssl_context = ssl.create_default_context()
        try:
            import certifi

            ssl_context.load_verify_locations(certifi.where())
        except ImportError:  # pragma: no cover - certifi ships with httpx
            log.debug("certifi missing, using the system CA store")
        backend = _GuardedBackend(policy)

        def new_pool() -> httpcore.AsyncConnectionPool:
            return httpcore.AsyncConnectionPool(
                ssl_context=ssl_context,
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=backend,
            )

        per_host = max(1, min(per_host or max_connections, max_connections))
        self._pool = HostPools(new_pool, max_pools=max(1, max_connections // per_host))  # type: ignore[assignment]


_Origin = tuple[bytes, bytes, int | None]  # scheme, host, port


class HostPools:
    """One httpcore connection pool per origin (scheme, host, port), the least recently used
    idle ones closed beyond `max_pools`.

    httpcore's pool, on every request it starts and every response it ends, checks each
    connection it holds against all the others (a list of all per idle connection) and asks each
    idle one whether the server closed it: with 40 connections to 20 hosts in one pool, that was
    the largest CPU cost of fetching (``make bench``). A host's own pool holds its few.
    """

    def __init__(self, new_pool: Callable[[], httpcore.AsyncConnectionPool], *, max_pools: int) -> None:
        self._new_pool = new_pool
        self._max_pools = max_pools
        self._pools: OrderedDict[_Origin, httpcore.AsyncConnectionPool] = OrderedDict()

    @property
    def pools(self) -> int:
        """Pools open now."""
        return len(self._pools)

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        url = request.url
        key = (url.scheme, url.host, url.port)
        pool = self._pools.get(key)
        evicted: list[httpcore.AsyncConnectionPool] = []
        if pool is None:
            pool = self._pools[key] = self._new_pool()
            evicted = self._evict(keep=key)
        else:
            self._pools.move_to_end(key)
        try:
            # No await between taking `pool` and this call, which adds its connection before
            # its first await: a pool in use always holds a connection that is not idle.
            return await pool.handle_async_request(request)
        finally:
            for old in evicted:
                await old.aclose()

    def _evict(self, *, keep: _Origin) -> list[httpcore.AsyncConnectionPool]:
        """Take the least recently used pools with no connection in use out, while there are too many."""
        excess = len(self._pools) - self._max_pools
        idle = []
        for key, pool in self._pools.items():
            if excess <= 0:
                break
            if key != keep and all(conn.is_idle() for conn in pool.connections):
                idle.append(key)
                excess -= 1
        return [self._pools.pop(key) for key in idle]

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()

    async def __aenter__(self) -> HostPools:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
