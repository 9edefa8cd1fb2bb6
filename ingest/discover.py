"""Discovery: from a source spec to the pages it names (`discover_refs`) or holds (`iter_pages`).

- ``feed:``, ``sitemap:`` and ``urls:`` name pages to fetch: `discover_refs` returns their
  `PageRef`s, deduplicated by URL, with feed / sitemap metadata merged.
- ``warc:`` and ``dir:`` hold the pages themselves: `iter_pages` streams them as `RawPage`s.

Neither raises for a source that cannot be read: the failure becomes an `ErrorRecord` with stage
``discover`` (a sitemap child that fails does not stop its siblings). Only a malformed spec raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from common.storage import StorageError, resolve
from ingest.errors import DiscoveryError, IngestError
from ingest.failures import error_record
from ingest.feeds import Parsed, parse_feed
from ingest.fetch import FetchConfig, Fetcher, run_sync
from ingest.records import ErrorRecord, PageRef, RawPage
from ingest.sitemaps import parse_sitemap
from ingest.sources import SourceSpec, parse_source
from ingest.state import DocumentState, FetchState, body_hash
from ingest.timeutil import in_window, utcnow
from ingest.urls import is_http_url, normalize_url, source_for
from ingest.warc import WarcStats, iter_warc

log = logging.getLogger(__name__)

#: Largest local feed, sitemap or URL list read.
MAX_LOCAL_DOCUMENT_BYTES = 100 * 1024 * 1024
#: Page URLs taken from one sitemap source (an index and its children) in one run; the sitemaps
#: not read, or cut, are read by the next runs (their state is not saved).
DEFAULT_MAX_SITEMAP_URLS = 100_000
#: Sitemap documents fetched at once: a child may be 50 MB, an index may list 50,000 of them.
SITEMAPS_AT_ONCE = 4


@dataclass(slots=True)
class Discovery:
    """What `discover_refs` found.

    Attributes:
        refs: pages to fetch, one per URL.
        errors: documents or entries that could not be read (stage ``discover``).
        documents: feeds, sitemaps or lists read.
        duplicates: refs dropped because an earlier one had the same URL.
        filtered: refs outside the ``[since, until)`` window.
        unchanged: documents not modified since the `FetchState` given (304, or the same body).
    """

    refs: list[PageRef] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    documents: int = 0
    duplicates: int = 0
    filtered: int = 0
    unchanged: int = 0


def discover_refs(
    source: SourceSpec | str,
    *,
    fetch_config: FetchConfig,
    run_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    max_sitemap_depth: int = 3,
    max_sitemaps: int = 500,
    max_sitemap_urls: int = DEFAULT_MAX_SITEMAP_URLS,
    state: FetchState | None = None,
) -> Discovery:
    """The pages a ``feed:``, ``sitemap:`` or ``urls:`` source lists.

    Args:
        source: a spec string or a parsed `SourceSpec`.
        fetch_config: how feeds and sitemaps are fetched (same rules as pages).
        run_id: stamped on error rows.
        since, until: keep refs dated in ``[since, until)``; undated refs are kept. Child
            sitemaps whose lastmod is before `since` are not read.
        max_sitemap_depth: nesting of sitemap indexes followed (1: only the sitemap given).
        max_sitemaps: sitemap documents read at most; the rest are reported as errors.
        max_sitemap_urls: page URLs taken from a sitemap source in this run; sitemaps beyond
            are left for the next runs (one error row says so).
        state: validators and hashes of documents read before (`ingest.state`): a feed or sitemap
            not modified since yields no refs. Updated in place; the caller saves it.

    Raises:
        DiscoveryError: a malformed spec, or one of the kinds read by `iter_pages`.
    """
    spec = parse_source(source) if isinstance(source, str) else source
    if not spec.fetches:
        raise DiscoveryError(f"{spec} holds pages, read it with iter_pages()")
    found = Discovery()
    if spec.kind == "urls":
        _read_url_list(spec, found, run_id=run_id)
    else:
        run_sync(
            lambda: _read_documents(
                spec,
                found,
                fetch_config=fetch_config,
                run_id=run_id,
                since=since,
                max_depth=max_sitemap_depth,
                max_count=max_sitemaps,
                max_urls=max_sitemap_urls,
                state=state,
            )
        )
    refs, found.refs = found.refs, []
    by_url: dict[str, PageRef] = {}
    for ref in refs:
        key = normalize_url(ref.url)
        if key in by_url:
            found.duplicates += 1
            _merge(by_url[key], ref)
            continue
        by_url[key] = ref
    for ref in by_url.values():
        if in_window(ref.published_at, since=since, until=until):
            found.refs.append(ref)
        else:
            found.filtered += 1
    log.info(
        "%s: %d refs from %d documents (%d unchanged; %d duplicates, %d outside the window, %d errors)",
        spec,
        len(found.refs),
        found.documents,
        found.unchanged,
        found.duplicates,
        found.filtered,
        len(found.errors),
    )
    return found


def _merge(kept: PageRef, other: PageRef) -> None:
    """Fill what `kept` misses from `other` (a feed gives the guid, a news sitemap the title...)."""
    kept.title = kept.title or other.title
    kept.published_at = kept.published_at or other.published_at
    kept.language = kept.language or other.language
    kept.guid = kept.guid or other.guid


def _error(
    found: Discovery, url: str, exc: BaseException | str, *, run_id: str, kind: str | None = None
) -> None:
    found.errors.append(
        error_record(url=url, source=source_for(url), stage="discover", error=exc, run_id=run_id, kind=kind)
    )


def _read_local(uri: str) -> bytes:
    try:
        loc = resolve(uri)
        with loc.fs.open_input_stream(loc.path, compression=None) as stream:
            data = stream.read(MAX_LOCAL_DOCUMENT_BYTES + 1)
    except (OSError, pa.ArrowException, StorageError) as exc:
        raise DiscoveryError(f"cannot read {uri}: {exc}") from exc
    if len(data) > MAX_LOCAL_DOCUMENT_BYTES:
        raise DiscoveryError(f"{uri} is larger than {MAX_LOCAL_DOCUMENT_BYTES} bytes")
    return bytes(data)


def _read_url_list(spec: SourceSpec, found: Discovery, *, run_id: str) -> None:
    try:
        text = _read_local(spec.target).decode("utf-8-sig", errors="replace")
    except DiscoveryError as exc:
        _error(found, spec.target, exc, run_id=run_id)
        return
    found.documents += 1
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if is_http_url(line):
            found.refs.append(PageRef(url=line, source=source_for(line), discovered_from=spec.target))
        else:
            _error(
                found,
                line[:500],
                f"line {number} of {spec.target} is not an http(s) URL",
                run_id=run_id,
                kind="DiscoveryError",
            )


async def _read_documents(
    spec: SourceSpec,
    found: Discovery,
    *,
    fetch_config: FetchConfig,
    run_id: str,
    since: datetime | None,
    max_depth: int,
    max_count: int,
    max_urls: int,
    state: FetchState | None,
) -> None:
    """Read a feed, or a sitemap and (breadth first, level by level, a few documents at a time)
    the sitemaps it points to, until `max_urls` page URLs are taken."""
    async with Fetcher(fetch_config) as fetcher:

        def parse(data: bytes, url: str) -> Parsed:
            return parse_feed(data, url=url) if spec.kind == "feed" else parse_sitemap(data, url=url)

        async def read(url: str) -> Parsed:
            if state is None:
                return parse(await fetcher.document(url) if is_http_url(url) else _read_local(url), url)
            return await _read_if_changed(fetcher, url, state, found, parse)

        level = [spec.target]
        seen = {normalize_url(spec.target)}
        depth = 1
        while level:
            budget = max(0, max_count - found.documents)
            for url in level[budget:]:
                _error(
                    found,
                    url,
                    f"not read: more than {max_count} sitemaps",
                    run_id=run_id,
                    kind="DiscoveryError",
                )
            level = level[:budget]
            next_level: list[str] = []
            for url, result in await _read_some(level, read, found, spec, max_urls, run_id, state):
                found.documents += 1
                if isinstance(result, Exception):
                    if not isinstance(result, IngestError):
                        log.warning("unexpected error reading %s: %r", url, result)
                    _error(found, url, result, run_id=run_id)
                    continue
                if isinstance(result, BaseException):  # cancelled, interrupted: not ours to keep
                    raise result
                room = max_urls - len(found.refs)
                if len(result.refs) > room:
                    _error(
                        found,
                        url,
                        f"took {room} of its {len(result.refs)} URLs: more than {max_urls} from {spec} "
                        "in one run; the rest are read by the next runs",
                        run_id=run_id,
                        kind="DiscoveryError",
                    )
                    if state is not None:
                        state.documents.pop(normalize_url(url), None)  # read it whole next time
                found.refs.extend(result.refs[: max(0, room)])
                for what, why in result.skipped:
                    _error(found, what, why, run_id=run_id, kind="BadFeed")
                for child, lastmod in result.children:
                    key = normalize_url(child)
                    if key in seen:
                        continue
                    seen.add(key)
                    if (
                        since is not None
                        and lastmod is not None
                        and not in_window(lastmod, since=since, until=None)
                    ):
                        continue
                    if depth >= max_depth:
                        _error(
                            found,
                            child,
                            f"not read: sitemaps nested deeper than {max_depth}",
                            run_id=run_id,
                            kind="DiscoveryError",
                        )
                        continue
                    next_level.append(child)
            level = next_level
            depth += 1


async def _read_some(
    level: list[str],
    read: Callable[[str], Awaitable[Parsed]],
    found: Discovery,
    spec: SourceSpec,
    max_urls: int,
    run_id: str,
    state: FetchState | None,
) -> list[tuple[str, Parsed | BaseException]]:
    """Read the documents of `level`, `SITEMAPS_AT_ONCE` at a time, until `max_urls` refs are found;
    the documents left are reported in one error row, and not read (nor marked read) this run."""
    out: list[tuple[str, Parsed | BaseException]] = []
    taken = len(found.refs)
    for i in range(0, len(level), SITEMAPS_AT_ONCE):
        if taken >= max_urls:
            left = level[i:]
            _error(
                found,
                left[0],
                f"{len(left)} sitemaps of {spec} not read: {max_urls} URLs taken in this run already; "
                "the next runs read them",
                run_id=run_id,
                kind="DiscoveryError",
            )
            break
        group = level[i : i + SITEMAPS_AT_ONCE]
        results = await asyncio.gather(*(read(url) for url in group), return_exceptions=True)
        for url, result in zip(group, results, strict=True):
            out.append((url, result))
            if isinstance(result, Parsed):
                taken += len(result.refs)
    return out


async def _read_if_changed(
    fetcher: Fetcher,
    url: str,
    state: FetchState,
    found: Discovery,
    parse: Callable[[bytes, str], Parsed],
) -> Parsed:
    """Read `url` unless `state` shows it unchanged (then: no refs, and a sitemap index's known children)."""
    known = state.get(url)
    etag = last_modified = None
    if is_http_url(url):
        doc = await fetcher.document_if_changed(
            url, etag=known.etag if known else None, last_modified=known.last_modified if known else None
        )
        data, etag, last_modified = doc.body, doc.etag, doc.last_modified
    else:
        data = _read_local(url)
    digest = body_hash(data) if data is not None else None
    if known is not None and (data is None or digest == known.content_hash):
        found.unchanged += 1
        known.checked_at = utcnow()
        known.etag, known.last_modified = etag or known.etag, last_modified or known.last_modified
        log.debug("%s not modified (%s)", url, "304" if data is None else "same content")
        return Parsed(children=[(child, None) for child in known.children])
    assert data is not None, "a 304 answers only a request that sent validators"
    parsed = parse(data, url)
    state.put(
        DocumentState(
            url=url,
            etag=etag,
            last_modified=last_modified,
            content_hash=digest,
            children=[child for child, _ in parsed.children],
        )
    )
    return parsed


def iter_pages(
    source: SourceSpec | str,
    *,
    run_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    stats: WarcStats | None = None,
) -> Iterator[RawPage | ErrorRecord]:
    """Stream the pages a ``warc:`` or ``dir:`` source holds, and an `ErrorRecord` for each that failed.

    One page per URL (an article id is its URL): a later page with the URL of an earlier one (a
    WARC that captured a page twice, two saved copies of one page) is reported as an error row,
    the first kept. A WARC that breaks part-way yields its pages up to the damage, then one error.

    Args:
        since, until: keep pages fetched (WARC-Date, file mtime) in ``[since, until)``.
        stats: for WARC sources, filled with record counts and skip reasons.

    Raises:
        DiscoveryError: a malformed spec, or one of the kinds read by `discover_refs`.
    """
    spec = parse_source(source) if isinstance(source, str) else source
    if spec.fetches:
        raise DiscoveryError(f"{spec} lists pages to fetch, read it with discover_refs()")
    seen: set[str] = set()
    for item in _pages_of(spec, run_id=run_id, since=since, until=until, stats=stats):
        if isinstance(item, RawPage):
            key = normalize_url(item.ref.url)
            if key in seen:
                message = f"{item.raw_uri} has the URL of an earlier page of {spec}; the first was kept"
                yield error_record(
                    url=item.ref.url,
                    source=item.ref.source,
                    stage="discover",
                    error=message,
                    run_id=run_id,
                    kind="DiscoveryError",
                )
                continue
            seen.add(key)
        yield item


def _pages_of(
    spec: SourceSpec, *, run_id: str, since: datetime | None, until: datetime | None, stats: WarcStats | None
) -> Iterator[RawPage | ErrorRecord]:
    try:
        if spec.kind == "warc":
            items: Iterator[RawPage | tuple[PageRef, DiscoveryError]] = iter_warc(
                spec.target, start=since, end=until, stats=stats
            )
        else:
            from ingest.folder import iter_folder

            items = iter_folder(spec.target)
        for item in items:
            if isinstance(item, RawPage):
                if spec.kind == "warc" or in_window(item.fetched_at, since=since, until=until):
                    yield item
            else:
                ref, exc = item
                yield error_record(url=ref.url, source=ref.source, stage="discover", error=exc, run_id=run_id)
    except DiscoveryError as exc:
        yield error_record(
            url=spec.target, source=source_for(spec.target), stage="discover", error=exc, run_id=run_id
        )
