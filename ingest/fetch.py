"""Polite, guarded HTTP fetching of pages (for extraction) and documents (feeds, sitemaps).

One `httpx.AsyncClient` per call, shared by every page of the call:

- at most `concurrency` requests in flight, `per_host_concurrency` per host, and request starts
  to one host at least `per_host_delay_s` apart (or the host's robots.txt Crawl-delay, if longer);
- robots.txt read once per host and obeyed (`ingest.robots`);
- only http and https, and only public addresses unless allowed (`ingest.netguard`), checked
  after DNS resolution on every connection, hence on every redirect hop, which we follow ourselves;
- bodies streamed and decoded by us (`ingest.coding`: gzip or deflate, once), refused past
  `max_bytes` decoded bytes; non-HTML pages refused before their body is read;
- 429 and 503 retried after their Retry-After (capped), or with exponential backoff.

Errors come out as `ingest.errors`: FetchUnavailable (timeouts, connection errors, 429, 5xx),
HttpStatusError (other 4xx), Refused (scheme, address, robots.txt, size, redirects), NotHtml.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

from ingest.coding import ACCEPT_ENCODING, BodyDecoder
from ingest.errors import FetchError, FetchUnavailable, HttpStatusError, NotHtml, Refused
from ingest.fetch_config import FetchConfig
from ingest.netguard import GuardedTransport
from ingest.records import PageRef, RawPage
from ingest.robots import ROBOTS_MAX_BYTES, RobotsCache
from ingest.timeutil import utcnow
from ingest.urls import is_http_url, normalize_url

log = logging.getLogger(__name__)

T = TypeVar("T")

HTML_TYPES = ("text/html", "application/xhtml+xml")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
_DOC_ACCEPT = "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5"
#: Longest robots.txt Crawl-delay honoured, in seconds; a longer one is taken as this.
MAX_CRAWL_DELAY_S = 30.0


@dataclass(slots=True)
class Document:
    """A feed or sitemap as fetched: its final URL, body (None: not modified) and validators."""

    url: str
    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None


@dataclass(slots=True)
class _Answer:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    #: a Retry-After (seconds) longer than allowed, so not waited for
    refused_wait: float | None = None


class _HostGate:
    """Per-host concurrency and spacing of request starts."""

    def __init__(self, concurrency: int, delay_s: float) -> None:
        self._sem = asyncio.Semaphore(concurrency)
        self._lock = asyncio.Lock()
        self._next_at = 0.0
        self.delay_s = delay_s

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._sem:
            async with self._lock:
                loop = asyncio.get_running_loop()
                wait = self._next_at - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._next_at = loop.time() + self.delay_s
            yield

    def back_off(self, seconds: float) -> None:
        """Start no request to this host for `seconds` (a Retry-After)."""
        self._next_at = max(self._next_at, asyncio.get_running_loop().time() + seconds)


class Fetcher:
    """Async fetcher for one call: ``async with Fetcher(config) as f: await f.page(ref)``."""

    def __init__(self, config: FetchConfig) -> None:
        self.config = config
        self._global = asyncio.Semaphore(config.concurrency)
        self._gates: dict[str, _HostGate] = {}
        self._client: httpx.AsyncClient | None = None
        self._robots = RobotsCache(self._get_robots, user_agent=config.user_agent)

    async def __aenter__(self) -> Fetcher:
        transport = GuardedTransport(
            self.config.policy,
            max_connections=self.config.concurrency,
            per_host=self.config.per_host_concurrency,
        )
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(self.config.timeout_s),
            headers={"User-Agent": self.config.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            follow_redirects=False,
            trust_env=False,
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def page(self, ref: PageRef) -> RawPage:
        """Fetch an HTML page. Raises a `FetchError` subclass."""
        answer = await self._get(
            ref.url,
            headers={"Accept": _PAGE_ACCEPT},
            max_bytes=self.config.max_bytes,
            html_only=True,
            robots=True,
        )
        return RawPage(
            ref=ref,
            final_url=answer.url,
            status=answer.status,
            headers=answer.headers,
            body=answer.body,
            fetched_at=utcnow(),
        )

    async def document(self, url: str) -> bytes:
        """Fetch a feed or sitemap body (any content type). Raises a `FetchError` subclass."""
        answer = await self.document_if_changed(url)
        assert answer.body is not None, "no validators sent, so no 304"
        return answer.body

    async def document_if_changed(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Document:
        """Conditional GET of a feed or sitemap: ``Document.body`` is None when the server answers 304.

        Raises a `FetchError` subclass.
        """
        headers = {"Accept": _DOC_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        answer = await self._get(
            url, headers=headers, max_bytes=self.config.max_document_bytes, html_only=False, robots=True
        )
        return Document(
            url=answer.url,
            body=None if answer.status == 304 else answer.body,
            etag=answer.headers.get("etag"),
            last_modified=answer.headers.get("last-modified"),
        )

    async def _get_robots(self, url: str) -> tuple[int, bytes]:
        answer = await self._get(
            url,
            headers={"Accept": "text/plain"},
            max_bytes=ROBOTS_MAX_BYTES,
            html_only=False,
            robots=False,
            raise_status=False,
            truncate=True,
        )
        return answer.status, answer.body

    def _gate(self, url: str) -> _HostGate:
        key = urlsplit(url).netloc.lower()
        gate = self._gates.get(key)
        if gate is None:
            gate = _HostGate(self.config.per_host_concurrency, self.config.per_host_delay_s)
            self._gates[key] = gate
        return gate

    async def _get(
        self,
        url: str,
        *,
        headers: dict[str, str],
        max_bytes: int,
        html_only: bool,
        robots: bool,
        raise_status: bool = True,
        truncate: bool = False,
    ) -> _Answer:
        """GET `url`, following redirects hop by hop, each hop checked like the first."""
        seen = {normalize_url(url)}
        current = url
        answer: _Answer | None = None
        for _hop in range(self.config.max_redirects + 1):
            if not is_http_url(current):
                raise Refused(f"not an http(s) URL: {current[:200]}")
            try:
                httpx.URL(current)
            except httpx.InvalidURL as exc:
                raise translate_http_error(exc, current) from exc
            if robots and self.config.respect_robots:
                await self._robots.check(current)
                delay = (await self._robots.rules(current)).crawl_delay(self.config.user_agent)
                if delay is not None:
                    gate = self._gate(current)
                    gate.delay_s = max(gate.delay_s, min(delay, MAX_CRAWL_DELAY_S))
            answer = await self._with_retries(
                current, headers=headers, max_bytes=max_bytes, html_only=html_only, truncate=truncate
            )
            location = answer.headers.get("location")
            if answer.status in _REDIRECTS and location:
                target = urljoin(current, location.strip())
                key = normalize_url(target)
                if key in seen:
                    raise Refused(f"redirect loop at {current} -> {target}")
                seen.add(key)
                current = target
                continue
            if answer.status == 304 and ("If-None-Match" in headers or "If-Modified-Since" in headers):
                return answer  # not modified: what the conditional request asked
            if raise_status:
                _check_status(answer)
            return answer
        if not raise_status and answer is not None:
            return answer  # the last redirect: the caller reads its status
        raise Refused(f"more than {self.config.max_redirects} redirects from {url}")

    async def _with_retries(
        self, url: str, *, headers: dict[str, str], max_bytes: int, html_only: bool, truncate: bool
    ) -> _Answer:
        cfg = self.config
        for attempt in range(cfg.max_retries + 1):
            answer = await self._once(
                url, headers=headers, max_bytes=max_bytes, html_only=html_only, truncate=truncate
            )
            if answer.status not in cfg.retry_statuses or attempt == cfg.max_retries:
                return answer
            wait = _retry_after(answer.headers.get("retry-after"))
            if wait is None:
                wait = cfg.retry_backoff_s * 2**attempt
            if wait > cfg.max_retry_after_s:
                answer.refused_wait = wait
                return answer
            log.info("HTTP %d from %s, retrying in %.1f s", answer.status, url, wait)
            self._gate(url).back_off(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self, url: str, *, headers: dict[str, str], max_bytes: int, html_only: bool, truncate: bool
    ) -> _Answer:
        assert self._client is not None, "use Fetcher as an async context manager"
        async with self._gate(url).slot(), self._global:
            try:
                async with asyncio.timeout(self.config.timeout_s):
                    return await self._stream(
                        url, headers=headers, max_bytes=max_bytes, html_only=html_only, truncate=truncate
                    )
            except TimeoutError as exc:
                raise FetchUnavailable(f"timed out after {self.config.timeout_s:g} s fetching {url}") from exc
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                raise translate_http_error(exc, url) from exc

    async def _stream(
        self, url: str, *, headers: dict[str, str], max_bytes: int, html_only: bool, truncate: bool
    ) -> _Answer:
        assert self._client is not None
        async with self._client.stream("GET", url, headers=headers) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            status = response.status_code
            if not 200 <= status < 300:
                return _Answer(url, status, headers, b"")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes and not truncate:
                raise Refused(f"{url} is {int(declared)} bytes, more than the {max_bytes} allowed")
            if html_only:
                ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
                if ctype and ctype not in HTML_TYPES:
                    raise NotHtml(f"{url} is {ctype}, not an HTML page")
            # Raw bytes, decoded here under the cap: httpx would inflate them before any check.
            decoder = BodyDecoder(
                headers.get("content-encoding"), max_bytes=max_bytes, what=url, truncate=truncate
            )
            chunks: list[bytes] = []
            async for chunk in response.aiter_raw():
                chunks.append(decoder.feed(chunk))
                if decoder.done:
                    break
            decoder.finish()
            return _Answer(str(response.url), status, headers, b"".join(chunks))


def _check_status(answer: _Answer) -> None:
    status = answer.status
    if 200 <= status < 300:
        return
    if status == 429 or status >= 500:
        wait = answer.refused_wait
        extra = f" (asked to wait {wait:.0f} s, more than allowed)" if wait is not None else ""
        raise FetchUnavailable(f"HTTP {status} from {answer.url}{extra}")
    if status in _REDIRECTS:
        raise HttpStatusError(f"HTTP {status} from {answer.url} without a Location")
    raise HttpStatusError(f"HTTP {status} from {answer.url}")


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - utcnow()).total_seconds())


def translate_http_error(exc: Exception, url: str) -> FetchError:
    """The `ingest.errors` counterpart of an httpx exception (the caller chains it with ``from``)."""
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return FetchUnavailable(f"timed out fetching {url} ({detail})")
    if isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)):
        return FetchUnavailable(f"cannot reach {url} ({detail})")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return Refused(f"cannot fetch {url[:200]} ({detail})")
    if isinstance(exc, httpx.InvalidURL):
        return FetchError(f"invalid URL {url[:200]} ({detail})")
    return FetchError(f"fetching {url} failed ({detail})")


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="copydesk-fetch") as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


FetchOutcome = RawPage | tuple[PageRef, Exception]


async def afetch_pages(
    refs: list[PageRef], config: FetchConfig, *, on_result: Callable[[FetchOutcome], None] | None = None
) -> list[FetchOutcome]:
    """Async `fetch_pages`."""
    started = time.monotonic()
    async with Fetcher(config) as fetcher:

        async def one(ref: PageRef) -> FetchOutcome:
            outcome: FetchOutcome
            try:
                outcome = await fetcher.page(ref)
            except FetchError as exc:
                log.debug("fetch failed: %s: %s", type(exc).__name__, exc)
                outcome = ref, exc
            except Exception as exc:  # a bug or an untranslated library error: keep it, never lose the ref
                log.warning("unexpected error fetching %s: %r", ref.url, exc, exc_info=True)
                outcome = ref, exc
            if on_result is not None:
                on_result(outcome)
            return outcome

        results = await asyncio.gather(*(one(ref) for ref in refs))
    failed = sum(1 for r in results if isinstance(r, tuple))
    log.info(
        "fetched %d of %d pages in %.1f s (%d failed)",
        len(refs) - failed,
        len(refs),
        time.monotonic() - started,
        failed,
    )
    return list(results)


def fetch_pages(
    refs: list[PageRef], config: FetchConfig, *, on_result: Callable[[FetchOutcome], None] | None = None
) -> list[FetchOutcome]:
    """Fetch `refs`; one result per ref, in order: the page, or the ref with why it failed.

    `on_result` is called with each result as it arrives (in the fetching thread, between requests),
    so the caller can archive and extract while the rest is still being fetched.
    """
    return run_sync(lambda: afetch_pages(refs, config, on_result=on_result))


def fetch_document(url: str, config: FetchConfig) -> bytes:
    """Fetch one feed or sitemap body under the same rules as pages. Raises a `FetchError` subclass."""

    async def go() -> bytes:
        async with Fetcher(config) as fetcher:
            return await fetcher.document(url)

    return run_sync(go)
