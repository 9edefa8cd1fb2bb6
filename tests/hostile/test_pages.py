"""Hostile pages from a loopback server, all in one batch: bombs, huge and binary bodies, lying
charsets, redirect loops, slow answers, 429/503 storms, broken HTTP. Each must end as an article
or an `errors/` row of a known kind, the batch must go on, log no traceback, and the process must
grow by less than `MEMORY_CAP_MB`.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from common.storage import resolve
from ingest.archive import RawArchive
from ingest.attempts import is_unknown
from ingest.batch import BatchResult, ingest_refs
from ingest.fetch import FetchConfig
from ingest.records import PageRef
from tests.hostile.hostile_inputs import (
    MEMORY_CAP_MB,
    Peak,
    Route,
    Server,
    answer,
    article_html,
    gzip_bytes,
    gzip_of_zeros,
    html,
    no_tracebacks,
    rss_growth,
    serve,
)

ARTICLE = {("article", "")}
EXTRACT_FAILED = {("extract", "NoArticle"), ("extract", "ExtractError"), ("extract", "NotHtml")}
REFUSED = {("fetch", "Refused")}
UNAVAILABLE = {("fetch", "FetchUnavailable")}
BOMB_MB = 300
PAGE = article_html().encode()


def _trickle(head: bytes, *, every_s: float, count: int) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(head)
        h.wfile.flush()
        for _ in range(count):  # bounded: the server never outlives the test
            time.sleep(every_s)
            h.wfile.write(b"x")
            h.wfile.flush()

    return route


def _stream(total_mb: int, *, declared: bool) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
        head += f"Content-Length: {total_mb << 20}\r\n" if declared else "Transfer-Encoding: chunked\r\n"
        h.wfile.write(head.encode() + b"\r\n")
        block = b"<p>" + b"a" * ((1 << 20) - 7) + b"</p>"
        for _ in range(total_mb):
            h.wfile.write(block if declared else b"%x\r\n%s\r\n" % (len(block), block))
        if not declared:
            h.wfile.write(b"0\r\n\r\n")

    return route


def _status(status: int, **headers: str) -> Route:
    return lambda h: answer(h, status, {"Content-Type": "text/html", **headers}, b"busy")


def _redirect(to: str) -> Route:
    return lambda h: answer(h, 302, {"Location": to}, b"")


def _raw(data: bytes) -> Route:
    return lambda h: h.wfile.write(data)


def _cases() -> dict[str, tuple[Route, set[tuple[str, str]]]]:
    rng = random.Random(11)
    gz = gzip_bytes(PAGE)
    cp1252 = article_html(paragraphs=["Caf\u00e9 cr\u00e8me and na\u00efve r\u00e9sum\u00e9s " * 8] * 4)
    mixed = PAGE.replace(b"harbour", "h\u00e4rbour".encode()).replace(
        b"commission", "comm\u00efssion".encode("cp1252")
    )
    nested = "<div>" * 50_000 + "<p>" + " ".join(["deep"] * 200) + "</p>" + "</div>" * 50_000
    return {
        # well-formed pages, also compressed: they must still become articles
        "/ok/plain": (html(PAGE), ARTICLE),
        "/ok/gzip": (html(gz, **{"Content-Encoding": "gzip"}), ARTICLE),
        "/ok/x-gzip": (html(gz, **{"Content-Encoding": "x-gzip"}), ARTICLE),
        "/ok/gzip-members": (
            html(gzip_bytes(PAGE[:500]) + gzip_bytes(PAGE[500:]), **{"Content-Encoding": "gzip"}),
            ARTICLE,
        ),
        "/ok/deflate-zlib": (html(zlib.compress(PAGE), **{"Content-Encoding": "deflate"}), ARTICLE),
        "/ok/deflate-raw": (html(zlib.compress(PAGE, wbits=-15), **{"Content-Encoding": "deflate"}), ARTICLE),
        "/ok/identity": (html(PAGE, **{"Content-Encoding": "identity"}), ARTICLE),
        # compression bombs
        "/bomb/gzip-gzip": (
            html(gzip_bytes(gzip_of_zeros(BOMB_MB)), **{"Content-Encoding": "gzip, gzip"}),
            REFUSED,
        ),
        "/bomb/gzip-identity-gzip": (
            html(gzip_bytes(gzip_of_zeros(BOMB_MB)), **{"Content-Encoding": "gzip, identity, gzip"}),
            REFUSED,
        ),
        "/bomb/gzip-deep": (html(gzip_of_zeros(BOMB_MB), **{"Content-Encoding": "gzip"}), REFUSED),
        "/bomb/deflate": (html(gzip_of_zeros(BOMB_MB, wbits=15), **{"Content-Encoding": "deflate"}), REFUSED),
        "/bomb/deflate-raw": (
            html(gzip_of_zeros(BOMB_MB, wbits=-15), **{"Content-Encoding": "deflate"}),
            REFUSED,
        ),
        "/coding/br": (html(b"\x1b\x03\x00\xf8\xa5\x04", **{"Content-Encoding": "br"}), REFUSED),
        "/coding/unknown": (html(PAGE, **{"Content-Encoding": "x-snappy"}), REFUSED),
        "/coding/corrupt-gzip": (
            html(b"\x1f\x8b\x08\x00" + bytes(rng.randbytes(4000)), **{"Content-Encoding": "gzip"}),
            REFUSED,
        ),
        "/coding/truncated-gzip": (html(gz[: len(gz) // 2], **{"Content-Encoding": "gzip"}), REFUSED),
        # huge bodies
        "/size/100mb-chunked": (_stream(100, declared=False), REFUSED),
        "/size/100mb-declared": (_stream(100, declared=True), REFUSED),
        # binary bodies sent as text/html
        "/binary/random": (html(rng.randbytes(64_000)), EXTRACT_FAILED),
        "/binary/nul": (html(bytes(64_000)), EXTRACT_FAILED),
        "/binary/png": (html(b"\x89PNG\r\n\x1a\n" + rng.randbytes(20_000)), EXTRACT_FAILED),
        "/binary/gzip-unlabelled": (html(gz), EXTRACT_FAILED),
        # lying and mixed charsets
        "/charset/base64": (html(article_html(charset="base64"), ctype="text/html"), ARTICLE),
        "/charset/rot13": (html(article_html(charset="rot13"), ctype="text/html"), ARTICLE),
        "/charset/zlib-codec": (
            html(article_html(charset="zlib_codec"), ctype="text/html; charset=hex"),
            ARTICLE,
        ),
        "/charset/lying-header": (html(cp1252.encode("cp1252")), ARTICLE),
        "/charset/mixed": (html(mixed), ARTICLE),
        "/charset/unknown-label": (
            html(article_html(charset="x-klingon"), ctype="text/html; charset=x-klingon"),
            ARTICLE,
        ),
        "/charset/utf7": (
            html(article_html(charset="utf-7").encode("utf-7"), ctype="text/html; charset=utf-7"),
            ARTICLE,
        ),
        "/charset/utf16-lie": (html(PAGE, ctype="text/html; charset=utf-16"), ARTICLE | EXTRACT_FAILED),
        # redirects
        "/redirect/loop-a": (_redirect("/redirect/loop-b"), REFUSED),
        "/redirect/loop-b": (_redirect("/redirect/loop-a"), REFUSED),
        "/redirect/self": (_redirect("/redirect/self"), REFUSED),
        "/redirect/chain-0": (_redirect("/redirect/chain-1"), REFUSED),
        "/redirect/file-scheme": (_redirect("file:///etc/passwd"), REFUSED),
        "/redirect/private": (_redirect("http://10.255.255.1/x"), REFUSED),
        "/redirect/metadata": (_redirect("http://169.254.169.254/latest/meta-data/"), REFUSED),
        "/redirect/no-location": (lambda h: answer(h, 302, {}, b""), {("fetch", "HttpStatusError")}),
        # slow answers
        "/slow/body": (
            _trickle(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", every_s=0.25, count=40),
            UNAVAILABLE,
        ),
        "/slow/headers": (_trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", every_s=0.25, count=40), UNAVAILABLE),
        # 429 / 503 storms
        "/storm/429": (_status(429, **{"Retry-After": "0"}), UNAVAILABLE),
        "/storm/503": (_status(503), UNAVAILABLE),
        "/storm/503-far": (_status(503, **{"Retry-After": "86400"}), UNAVAILABLE),
        "/storm/429-huge": (_status(429, **{"Retry-After": "9" * 40}), UNAVAILABLE),
        "/storm/429-year-9999": (
            _status(429, **{"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}),
            UNAVAILABLE,
        ),
        "/storm/429-garbage": (_status(429, **{"Retry-After": "soon, maybe"}), UNAVAILABLE),
        # broken HTTP
        "/proto/garbage-status": (_raw(b"HTTP/1.1 abc\r\n\r\n"), UNAVAILABLE),
        "/proto/header-flood": (_raw(b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 40_000 + b"\r\n"), UNAVAILABLE),
        "/proto/close-early": (_raw(b"HTTP/1.1 200 OK\r\n"), UNAVAILABLE),
        "/proto/lying-length": (
            _raw(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<p>"),
            UNAVAILABLE,
        ),
        "/proto/not-http": (_raw(b"SSH-2.0-OpenSSH_9.6\r\n"), UNAVAILABLE),
        # odd HTML
        "/html/empty": (html(b""), EXTRACT_FAILED),
        "/html/deep-nesting": (html(nested), ARTICLE | EXTRACT_FAILED),
        "/html/huge-attribute": (
            html(f'<html><body><div title="{"x" * 1_500_000}"></div></body></html>'),
            EXTRACT_FAILED,
        ),
        "/type/pdf": (html(b"%PDF-1.7", ctype="application/pdf"), {("fetch", "NotHtml")}),
        # impossible dates in the page: an article, its date unknown or sane
        "/dates/9999": (html(article_html(published="9999-12-31")), ARTICLE),
        "/dates/0001": (html(article_html(published="0001-01-01T00:00:00+14:00")), ARTICLE),
        "/dates/west-overflow": (html(article_html(published="9999-12-31T23:00:00-05:00")), ARTICLE),
    }


CASES = _cases()
#: the rest of an endless chain of redirects that /redirect/chain-0 starts
CHAIN = {f"/redirect/chain-{i}": _redirect(f"/redirect/chain-{i + 1}") for i in range(1, 30)}


@dataclass
class Run:
    result: BatchResult
    server: Server
    peak: Peak
    tracebacks: list[str]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    routes = {path: route for path, (route, _) in CASES.items()} | CHAIN
    config = FetchConfig(
        user_agent="CopydeskHostile/1.0",
        timeout_s=5.0,
        max_bytes=2_000_000,
        per_host_delay_s=0.0,
        per_host_concurrency=64,
        concurrency=64,
        allow_loopback=True,
        respect_robots=False,
        max_redirects=4,
        retry_backoff_s=0.05,
        max_retry_after_s=1.0,
    )
    archive = RawArchive(resolve(str(tmp_path_factory.mktemp("raw"))))
    with serve(routes) as server, no_tracebacks() as logs, rss_growth() as peak:
        refs = [PageRef(url=server.url(p), source="hostile", discovered_from="test") for p in CASES]
        result = ingest_refs(refs, fetch_config=config, archive=archive, run_id="hostile", workers=1)
        yield Run(result, server, peak, [f"{r.name}: {r.getMessage()}" for r in logs.records])


@pytest.mark.parametrize("path", list(CASES))
def test_each_hostile_page_ends_as_expected(run: Run, path: str):
    url = run.server.url(path)
    articles = [a for a in run.result.articles if a.url == url]
    errors = [(e.stage, e.kind) for e in run.result.errors if e.url == url]
    assert len(articles) + len(errors) == 1, (articles, errors)
    got = ("article", "") if articles else errors[0]
    assert got in CASES[path][1], [e.message for e in run.result.errors if e.url == url]
    for article in articles:
        when = article.published_at
        assert when is None or 1990 <= when.year <= 2100


def test_the_batch_goes_on_without_tracebacks_in_bounded_memory(run: Run):
    assert len(run.result.articles) + len(run.result.errors) == len(CASES)
    assert not run.tracebacks
    assert not [e for e in run.result.errors if is_unknown(e.kind)]
    assert run.peak.mb < MEMORY_CAP_MB, f"grew by {run.peak.mb:.0f} MB"


def test_storms_are_bounded_in_requests(run: Run):
    assert run.server.hits["/storm/429"] == 3  # the first try and max_retries=2
    assert run.server.hits["/storm/503"] == 3
    assert run.server.hits["/storm/503-far"] == 1  # asked to wait longer than allowed: not waited for
    assert run.server.hits["/redirect/self"] == 1
    assert sum(n for p, n in run.server.hits.items() if p.startswith("/redirect/chain-")) <= 5


def test_a_stacked_coding_is_refused_before_its_body_is_inflated(run: Run):
    [error] = [e for e in run.result.errors if e.url == run.server.url("/bomb/gzip-gzip")]
    assert "stacked content codings" in error.message


def test_bombs_are_cut_at_the_decoded_cap(run: Run):
    for path in ("/bomb/gzip-deep", "/bomb/deflate", "/bomb/deflate-raw", "/size/100mb-chunked"):
        [error] = [e for e in run.result.errors if e.url == run.server.url(path)]
        assert "larger than the 2000000 bytes allowed" in error.message, error.message


def test_raw_archive_keeps_the_decoded_page(run: Run, tmp_path: Path):
    [article] = [a for a in run.result.articles if a.url == run.server.url("/ok/gzip")]
    assert "harbour commission" in article.text
