"""The demo newsroom on 127.0.0.1: every publisher's pages, feed, news sitemap and a robots.txt.

One ``ThreadingHTTPServer`` in a background thread serves all publishers, each under its own
path prefix (``/harbor-herald/...``). Everything is rendered once at start for the bound port.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import sys
import threading
import zlib
from dataclasses import dataclass
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from flows.demo import corpus
from flows.demo.corpus import CONTENT_TYPES, Page, Publisher

logger = logging.getLogger(__name__)

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_TYPES = {"rss": "application/rss+xml; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class Response:
    """A canned HTTP answer."""

    status: int
    content_type: str
    body: bytes


def _listed(outlet: Publisher, where: str) -> list[Page]:
    """The publisher's pages listed in its feed or sitemap, newest first."""
    chosen = [p for p in corpus.pages() if p.publisher == outlet.slug and where in p.listed_in]
    return sorted(chosen, key=lambda p: (p.published, p.id), reverse=True)


def _guid(item: Page) -> str:
    return f"urn:copydesk-demo:{item.publisher}:{item.id}"


def render_rss(outlet: Publisher, base_url: str) -> bytes:
    """An RSS 2.0 feed of the publisher's feed-listed pages."""
    items = []
    for item in _listed(outlet, "feed"):
        author = f"\n  <dc:creator>{escape(item.author)}</dc:creator>" if item.author else ""
        items.append(
            f"<item>\n  <title>{escape(item.headline)}</title>\n"
            f"  <link>{escape(corpus.page_url(item, base_url))}</link>\n"
            f'  <guid isPermaLink="false">{_guid(item)}</guid>\n'
            f"  <pubDate>{format_datetime(item.published)}</pubDate>{author}\n"
            f"  <category>{escape(item.section)}</category>\n"
            f"  <description>{escape(item.summary)}</description>\n</item>"
        )
    home = base_url + outlet.home_path
    newest = format_datetime(_listed(outlet, "feed")[0].published)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<rss version="2.0" xmlns:atom="{ATOM_NS}" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f"<channel>\n<title>{escape(outlet.name)}</title>\n<link>{escape(home)}</link>\n"
        f"<description>{escape(outlet.tagline)}</description>\n<language>en-us</language>\n"
        f"<lastBuildDate>{newest}</lastBuildDate>\n"
        f'<atom:link href={quoteattr(base_url + outlet.feed_path)} rel="self" type="application/rss+xml"/>\n'
        + "\n".join(items)
        + "\n</channel>\n</rss>\n"
    ).encode()


def render_atom(outlet: Publisher, base_url: str) -> bytes:
    """An Atom 1.0 feed of the publisher's feed-listed pages."""
    entries = []
    for item in _listed(outlet, "feed"):
        when = item.published.isoformat()
        author = f"\n  <author><name>{escape(item.author)}</name></author>" if item.author else ""
        entries.append(
            f"<entry>\n  <title>{escape(item.headline)}</title>\n"
            f'  <link rel="alternate" type="text/html" href={quoteattr(corpus.page_url(item, base_url))}/>\n'
            f"  <id>{_guid(item)}</id>\n  <published>{when}</published>\n"
            f"  <updated>{when}</updated>{author}\n"
            f"  <summary>{escape(item.summary)}</summary>\n</entry>"
        )
    newest = _listed(outlet, "feed")[0].published.isoformat()
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="{ATOM_NS}" xml:lang="en">\n'
        f"<title>{escape(outlet.name)}</title>\n<subtitle>{escape(outlet.tagline)}</subtitle>\n"
        f"<id>urn:copydesk-demo:{outlet.slug}</id>\n<updated>{newest}</updated>\n"
        f'<link rel="self" href={quoteattr(base_url + outlet.feed_path)}/>\n'
        f'<link rel="alternate" type="text/html" href={quoteattr(base_url + outlet.home_path)}/>\n'
        + "\n".join(entries)
        + "\n</feed>\n"
    ).encode()


def render_sitemap(outlet: Publisher, base_url: str) -> bytes:
    """A Google News sitemap of the publisher's sitemap-listed pages."""
    urls = []
    for item in _listed(outlet, "sitemap"):
        when = item.published.isoformat()
        urls.append(
            f"<url>\n  <loc>{escape(corpus.page_url(item, base_url))}</loc>\n  <lastmod>{when}</lastmod>\n"
            f"  <news:news>\n    <news:publication>\n      <news:name>{escape(outlet.name)}</news:name>\n"
            f"      <news:language>en</news:language>\n    </news:publication>\n"
            f"    <news:publication_date>{when}</news:publication_date>\n"
            f"    <news:title>{escape(item.headline)}</news:title>\n  </news:news>\n</url>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}" xmlns:news="{NEWS_NS}">\n'
        + "\n".join(urls)
        + "\n</urlset>\n"
    ).encode()


def render_robots(base_url: str) -> bytes:
    """robots.txt allowing everything and naming every news sitemap."""
    lines = ["User-agent: *", "Allow: /", ""]
    lines += [f"Sitemap: {base_url}{p.sitemap_path}" for p in corpus.publishers()]
    return ("\n".join(lines) + "\n").encode()


def render_front(outlet: Publisher, base_url: str) -> bytes:
    """A bare front page linking the publisher's stories (not listed in any feed)."""
    stories = [
        p for p in corpus.pages() if p.publisher == outlet.slug and p.is_article and not p.same_page_as
    ]
    links = "\n".join(f'<li><a href="{base_url}{p.path}">{escape(p.headline)}</a></li>' for p in stories)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(outlet.name)}</title>'
        f"</head>\n<body><h1>{escape(outlet.name)}</h1>\n<ul>\n{links}\n</ul></body></html>\n"
    ).encode()


def render_pdf(title: str) -> bytes:
    """A one-page PDF showing `title`, with a correct cross-reference table."""
    text = title.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1", "replace")
    stream = b"BT /F1 16 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def render_png(bars: tuple[float, ...] = (0.35, 0.5, 0.22, 0.8, 0.41, 0.63), *, size: int = 60) -> bytes:
    """A small greyscale bar chart as PNG."""
    width, height = size * 2, size
    slot = width // len(bars)
    rows = []
    for y in range(height):
        row = bytes(
            40 if x % slot > 3 and height - y <= bars[x // slot] * height else 255 for x in range(width)
        )
        rows.append(b"\x00" + row)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def _page_response(item: Page, base_url: str) -> Response | None:
    """What the server answers for a listed page, or None when it is not served at all."""
    if item.path is None or item.kind == "http_404":
        return None
    if item.file_format == "pdf":
        return Response(200, CONTENT_TYPES["pdf"], render_pdf(item.headline))
    if item.file_format == "png":
        return Response(200, CONTENT_TYPES["png"], render_png())
    return Response(200, CONTENT_TYPES["html"], corpus.render_html(item, base_url))


def build_site(base_url: str) -> dict[str, Response]:
    """Every answer of the demo newsroom, keyed by path (with query string where a page has one)."""
    site = {"/robots.txt": Response(200, "text/plain; charset=utf-8", render_robots(base_url))}
    for outlet in corpus.publishers():
        feed = render_rss if outlet.feed_format == "rss" else render_atom
        site[outlet.feed_path] = Response(200, FEED_TYPES[outlet.feed_format], feed(outlet, base_url))
        site[outlet.sitemap_path] = Response(200, "application/xml", render_sitemap(outlet, base_url))
        site[outlet.home_path] = Response(200, CONTENT_TYPES["html"], render_front(outlet, base_url))
    for item in corpus.pages():
        if (answer := _page_response(item, base_url)) and item.path:
            site[item.path] = answer
    return site


def _not_found(path: str) -> Response:
    body = (
        f'<!DOCTYPE html>\n<html lang="en"><head><title>Page not found</title></head><body>'
        f"<h1>404 Not Found</h1><p>No page at {escape(path)}.</p></body></html>\n"
    )
    return Response(404, CONTENT_TYPES["html"], body.encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: dict[str, Response]
    seen: list[str]

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up on a keep-alive connection is normal; anything else is logged."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionResetError | BrokenPipeError | TimeoutError):
            logger.debug("demo newsroom: client %s went away: %s", client_address, exc)
            return
        logger.warning("demo newsroom: error serving %s", client_address, exc_info=exc)


class _Handler(BaseHTTPRequestHandler):
    """Serves canned answers; an unknown query string on a known page is ignored, as real sites do."""

    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 30

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        self.server.seen.append(self.path)
        path = urlsplit(self.path).path
        site = self.server.site
        answer = site.get(self.path) or site.get(path) or _not_found(path)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if send_body:
            self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("demo newsroom: %s", format % args)


class DemoNewsroom:
    """The demo newsroom as a context manager: ``with DemoNewsroom() as site: site.sources()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> DemoNewsroom:
        """Bind the port, render the site for it and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("demo newsroom already running")
        server = _Server(self._address, _Handler)
        host, port = server.server_address[:2]
        server.site = build_site(f"http://{host!s}:{port}")
        server.seen = []
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="demo-newsroom", daemon=True
        )
        self._thread.start()
        logger.info("demo newsroom serving at %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> DemoNewsroom:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, without a trailing slash."""
        if self._server is None:
            raise RuntimeError("demo newsroom is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        """Absolute URL of a path on this server."""
        return self.base_url + path

    def feed_urls(self) -> list[str]:
        """Every publisher's RSS or Atom feed."""
        return [self.url(p.feed_path) for p in corpus.publishers()]

    def sitemap_urls(self) -> list[str]:
        """Every publisher's Google News sitemap."""
        return [self.url(p.sitemap_path) for p in corpus.publishers()]

    def sources(self) -> list[str]:
        """Source specs for the pipeline: every feed (``feed:URL``) and every sitemap (``sitemap:URL``)."""
        return [f"feed:{u}" for u in self.feed_urls()] + [f"sitemap:{u}" for u in self.sitemap_urls()]

    def expected(self) -> dict[str, Any]:
        """The committed manifest with absolute URLs for this server's port."""
        return corpus.resolve_manifest(corpus.load_manifest(), self.base_url)

    def requests_seen(self) -> list[str]:
        """Paths (with query) requested so far, in arrival order."""
        return list(self._server.seen) if self._server else []


def main() -> None:
    """Serve the demo newsroom on a free port until interrupted, printing its sources."""
    import time

    with DemoNewsroom() as site, contextlib.suppress(KeyboardInterrupt):
        print(f"Demo newsroom at {site.base_url} (Ctrl-C to stop)")
        for source in site.sources():
            print(" ", source)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
