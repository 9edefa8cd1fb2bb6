"""What a URL says about a page: its publisher (`source_for`) and its article id (`article_id_for`).

The source of a page is its publisher's host, lowercased, without a leading ``www.``
(``https://www.Example.com/a`` -> ``example.com``; a non-default port is kept: ``example.com:8443``).
When the host is loopback (``127.0.0.0/8``, ``::1``, ``localhost``), as for the demo site where
several publishers share ``127.0.0.1:PORT``, the source is the first path segment instead
(``http://127.0.0.1:8000/valley-ledger/2026/...`` -> ``valley-ledger``), or ``host:port`` when the
path is empty. URLs that are not http(s) have no publisher: ``file`` URLs give ``local``, others
their scheme.
"""

from __future__ import annotations

import hashlib
import ipaddress
from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_http_url(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)


def is_loopback_host(host: str) -> bool:
    """Whether `host` (a name or an address, without port) names this machine."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def source_for(url: str) -> str:
    """The publisher of `url`: host without ``www.``, or the first path segment on loopback hosts."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return "unknown"
    scheme = parts.scheme.lower()
    if scheme == "file":
        return "local"
    if not host:
        return scheme or "unknown"
    hostport = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    if is_loopback_host(host):
        segment = next((s for s in parts.path.split("/") if s), "")
        return segment.lower() if segment else hostport
    if hostport.startswith("www."):
        hostport = hostport[4:]
    return hostport


def normalize_url(url: str) -> str:
    """`url` with scheme and host lowercased, default port and fragment dropped; path and query as is.

    Only what cannot change the page served is normalised: two URLs differing in path or query
    stay two URLs (two articles, which dedup then finds to be exact copies).
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return url
    if not host:
        return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, parts.query, ""))
    scheme = parts.scheme.lower()
    netloc = host.lower() if ":" not in host else f"[{host.lower()}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def article_id_for(url: str) -> str:
    """Stable id of the article at `url` as fetched: first 16 hex digits of sha1 of the normalised URL.

    Known before fetching, so a scheduled run can skip pages it already has.
    """
    return hashlib.sha1(normalize_url(url).encode("utf-8")).hexdigest()[:16]
