"""A small news site on 127.0.0.1 for the scheduled-run tests: pages, feeds and sitemaps whose
routes a test sets, conditional GET answered as a static file server does, every request logged."""

from __future__ import annotations

import html
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = (
    "council harbour ferry budget vote island winter service review petition village pier storm "
    "commuters freight parking officials residents summer passengers terminal repairs"
).split()


def story(seed: int, *, paragraphs: int = 4) -> list[str]:
    """Paragraphs of plausible words, different for each seed (about 35 words each)."""
    out = []
    for p in range(paragraphs):
        words = [WORDS[(seed * 7 + p * 5 + i * (seed % 5 + 1)) % len(WORDS)] for i in range(35)]
        out.append(f"Story {seed} part {p}: " + " ".join(words).capitalize() + ".")
    return out


def page_html(title: str, paragraphs: list[str], *, published: str, canonical: str | None = None) -> bytes:
    data = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title}
    data["datePublished"] = published
    canon = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'{canon}<script type="application/ld+json">{json.dumps(data)}</script></head><body>'
        f"<main><article><h1>{html.escape(title)}</h1>{body}</article></main></body></html>"
    ).encode()


def rss(items: list[tuple[str, str]]) -> bytes:
    """An RSS 2.0 feed of (title, link) items."""
    entries = "".join(
        f"<item><title>{html.escape(t)}</title><link>{html.escape(u)}</link>"
        f"<pubDate>Thu, 19 Mar 2026 11:00:00 GMT</pubDate></item>"
        for t, u in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News</title>'
        f"<link>http://example.org/</link>{entries}</channel></rss>"
    ).encode()


def sitemap(urls: list[str]) -> bytes:
    entries = "".join(f"<url><loc>{html.escape(u)}</loc></url>" for u in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    ).encode()


@dataclass
class Route:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200


@dataclass
class LocalSite:
    """Routes by path; `requests` holds (path with query, request headers lowercased) of every request."""

    base: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def hits(self, prefix: str = "/") -> list[str]:
        """Paths (with query) asked for that start with `prefix`, in order."""
        with self.lock:
            return [p for p, _ in self.requests if p.startswith(prefix)]

    def headers_of(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [h for p, h in self.requests if p == path]


class _Handler(BaseHTTPRequestHandler):
    site: LocalSite

    def do_GET(self) -> None:
        site = self.site
        with site.lock:
            site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        route = site.routes.get(self.path.split("?", 1)[0])
        if route is None:
            status, headers, body = 404, {"Content-Type": "text/plain"}, b"not here"
        else:
            headers = {"Content-Type": route.content_type, **route.headers}
            status, body = route.status, route.body
            etag, modified = route.headers.get("ETag"), route.headers.get("Last-Modified")
            inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
            if (inm and etag and inm == etag) or (not inm and ims and modified and ims == modified):
                status, body = 304, b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


class Serving:
    """``with Serving() as site:`` a `LocalSite` on 127.0.0.1 (port chosen by the OS) in a thread."""

    def __enter__(self) -> LocalSite:
        self.site = LocalSite()
        handler = type("Handler", (_Handler,), {"site": self.site})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.site.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self.site

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
