"""Prefect tasks of the pipeline: thin wrappers that call `ingest` and `dedup` and write their tables.

Each task is retried only when what failed is worth retrying (`dedup.errors.is_transient`: the
network, a throttled store), never on bad input. Expected failures (a 404, a page with no
article) are not raised at all: `ingest` turns them into `errors/` rows. Tasks pass plain records
and URIs, not open filesystems, and use no Prefect cache: idempotence comes from deterministic
file names, and articles already written are never fetched again.

What the flow decides (which pages to fetch, which feed state to keep) lives in `ingest.plan`,
tested without Prefect; the plain helpers left here (`file_stem`, `failure_rows`...) only shape rows.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from common.errors import CopydeskError, is_transient
from common.storage import read_dataset, resolve, stable_name
from dedup.index import DEFAULT_WINDOW_DAYS
from dedup.records import ORIGINAL
from flows.dedup_reads import DEDUP_COLUMNS, _article_texts, _first_of_each_id, _unindexed_ids
from flows.settings import TASK_RETRIES, TASK_RETRY_DELAY_S
from flows.summary import ClusterNews
from ingest.archive import RawArchive
from ingest.attempts import Attempts, load_attempts, save_attempts
from ingest.batch import ingest_pages, ingest_refs
from ingest.config import Publisher
from ingest.discover import DEFAULT_MAX_SITEMAP_URLS, discover_refs, iter_pages
from ingest.failures import Stage, error_record
from ingest.fetch import FetchConfig
from ingest.records import Article, ErrorRecord, PageRef, RawPage
from ingest.seen import SeenUrls, load_seen_urls, save_seen_urls, urls_to_record
from ingest.sources import parse_source
from ingest.state import DocumentState, FetchState, load_fetch_state, save_fetch_state
from ingest.tables import ERRORS_DIR, read_article_ids, read_articles, write_articles, write_errors
from ingest.urls import article_id_for, source_for

T = TypeVar("T")


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry only a failure marked transient (`TransientError`)."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, BaseException) and is_transient(exc)


TASK_DEFAULTS: dict[str, Any] = {
    "cache_policy": NO_CACHE,
    "retry_condition_fn": retry_if_transient,
    "retries": TASK_RETRIES,
    "retry_delay_seconds": TASK_RETRY_DELAY_S,
}


# --- plain helpers -------------------------------------------------------------------------------


def file_stem(prefix: str, keys: Iterable[str]) -> str:
    """A file name that depends only on the rows' keys, so writing the same rows again replaces the file."""
    return f"{prefix}-{stable_name(keys)}"


def failure_rows(
    urls: Sequence[tuple[str, str]], stage: Stage, exc: BaseException, *, run_id: str
) -> list[ErrorRecord]:
    """Error rows for inputs lost with a task that failed for good: nothing vanishes silently."""
    return [
        error_record(url=url, source=source, stage=stage, error=exc, run_id=run_id) for url, source in urls
    ]


def error_key(e: ErrorRecord) -> tuple[str, str, str]:
    return (e.url, e.stage, e.kind)


def first_of_each(items: Iterable[T], key: Callable[[T], str]) -> list[T]:
    """`items` without repeats: the first item of each key, in order."""
    seen: set[str] = set()
    out = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


@dataclass(slots=True)
class Discovered:
    """What one source gave: refs to fetch, or (WARC, folder) that its pages are to be read."""

    source: str
    refs: list[PageRef] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    reads_pages: bool = False
    #: feed and sitemap state this discovery changed, by normalised URL (saved after ingestion)
    fetch_state: dict[str, DocumentState] = field(default_factory=dict)
    unchanged: int = 0


@dataclass(slots=True)
class RunState:
    """What earlier runs recorded under the output root: feed and sitemap validators, seen URLs."""

    fetch_state: FetchState | None
    seen: SeenUrls
    #: failures with unknown errors per URL, across runs (`ingest.attempts`)
    attempts: Attempts = field(default_factory=Attempts)


@dataclass(slots=True)
class BatchOutcome:
    """What an ingest task did: article ids written, error rows (written later, all together), pages seen."""

    article_ids: list[str] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    pages_fetched: int = 0
    pages_skipped: int = 0
    files: list[str] = field(default_factory=list)
    #: URLs of the articles written: fetched, final and canonical (for the seen-URL record)
    urls: list[str] = field(default_factory=list)

    def add(self, other: BatchOutcome) -> None:
        self.article_ids.extend(other.article_ids)
        self.urls.extend(other.urls)
        self.errors.extend(other.errors)
        self.pages_fetched += other.pages_fetched
        self.pages_skipped += other.pages_skipped
        self.files.extend(other.files)


@dataclass(slots=True)
class DedupOutcome:
    """What the dedup task found over every article under the output root, and what this run added."""

    articles: int = 0
    clusters: int = 0
    copies_by_relation: dict[str, int] = field(default_factory=dict)
    links: int = 0
    new_articles: int = 0
    new_clusters: int = 0
    new_copies: dict[str, int] = field(default_factory=dict)
    top_clusters: list[ClusterNews] = field(default_factory=list)


# --- tasks ---------------------------------------------------------------------------------------


@task(name="known-articles", **TASK_DEFAULTS)
def known_articles(out: str, *, endpoint_url: str | None = None) -> set[str]:
    """Ids of the articles already under `out/articles/`, which this run will not fetch again."""
    return read_article_ids(resolve(out, endpoint_url=endpoint_url))


@task(name="run-state", **TASK_DEFAULTS)
def load_run_state(out: str, *, fetch_state: bool, endpoint_url: str | None = None) -> RunState:
    """The seen-URL record under `out`, and its feed and sitemap state when `fetch_state` is asked for."""
    root = resolve(out, endpoint_url=endpoint_url)
    state = load_fetch_state(root) if fetch_state else None
    seen = load_seen_urls(root)
    attempts = load_attempts(root)
    get_run_logger().info(
        "%d URLs seen before%s",
        len(seen),
        f", state of {len(state)} feeds and sitemaps" if state is not None else "",
    )
    return RunState(state, seen, attempts)


@task(name="save-run-state", **TASK_DEFAULTS)
def save_run_state(
    out: str,
    *,
    seen: SeenUrls,
    fetch_state: FetchState | None,
    attempts: Attempts | None = None,
    endpoint_url: str | None = None,
) -> None:
    """Record the URLs this run ingested, (when given) the feed and sitemap state it read and the
    failure counts it updated."""
    root = resolve(out, endpoint_url=endpoint_url)
    save_seen_urls(seen, root)
    if attempts is not None:
        save_attempts(attempts, root)
    if fetch_state is not None:
        save_fetch_state(fetch_state, root)


@task(name="discover", task_run_name="discover {source}", **TASK_DEFAULTS)
def discover_source(
    source: str,
    *,
    fetch_config: FetchConfig,
    run_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    publisher: Publisher | None = None,
    fetch_state: FetchState | None = None,
    max_sitemap_urls: int = DEFAULT_MAX_SITEMAP_URLS,
) -> Discovered:
    """The pages a feed, sitemap or URL list names (dated in ``[since, until)`` or undated).

    WARC and folder sources are only checked here: `ingest_source_pages` reads them. A
    `publisher`'s feeds and sitemaps are read with its fetch settings, and its name and priority
    go to each page found. With `fetch_state`, unchanged feeds and sitemaps yield nothing; the
    entries this discovery changed come back in `Discovered.fetch_state` (the state given is not
    changed: the flow saves the changes once the pages are ingested).
    """
    logger = get_run_logger()
    where = publisher.name if publisher is not None else source_for(source)
    try:
        spec = parse_source(source)
    except CopydeskError as exc:
        logger.warning("bad source %r: %s", source, exc)
        return Discovered(source, errors=failure_rows([(source, where)], "discover", exc, run_id=run_id))
    if not spec.fetches:
        return Discovered(source, reads_pages=True)
    if publisher is not None:
        fetch_config = publisher.fetch_config(fetch_config)
    local = None
    if fetch_state is not None:  # a copy: the entries it changes are told apart from the rest
        local = FetchState(
            {k: dataclasses.replace(v, children=list(v.children)) for k, v in fetch_state.documents.items()}
        )
    found = discover_refs(
        spec,
        fetch_config=fetch_config,
        run_id=run_id,
        since=since,
        until=until,
        state=local,
        max_sitemap_urls=max_sitemap_urls,
    )
    if publisher is not None:
        for ref in found.refs:
            ref.source, ref.priority = publisher.name, publisher.priority
        for error in found.errors:
            error.source = publisher.name
    changed: dict[str, DocumentState] = {}
    if local is not None and fetch_state is not None:
        changed = {k: v for k, v in local.documents.items() if fetch_state.documents.get(k) != v}
    return Discovered(
        source, refs=found.refs, errors=found.errors, fetch_state=changed, unchanged=found.unchanged
    )


@task(name="ingest-batch", **TASK_DEFAULTS)
def ingest_batch(
    refs: list[PageRef],
    *,
    fetch_config: FetchConfig,
    out: str,
    raw_store: str,
    run_id: str,
    endpoint_url: str | None = None,
) -> BatchOutcome:
    """Fetch, archive and extract a batch of refs, and write its articles (one file set per batch)."""
    archive = RawArchive(resolve(raw_store, endpoint_url=endpoint_url))
    result = ingest_refs(refs, fetch_config=fetch_config, archive=archive, run_id=run_id)
    return _write_batch(
        result.articles, result.errors, result.pages_fetched, out=out, endpoint_url=endpoint_url
    )


@task(name="ingest-pages", task_run_name="ingest pages of {source}", **TASK_DEFAULTS)
def ingest_source_pages(
    source: str,
    *,
    skip_ids: set[str],
    batch_size: int,
    out: str,
    raw_store: str,
    run_id: str,
    endpoint_url: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> BatchOutcome:
    """Stream the pages of a WARC or folder in batches: archive, extract, write each batch's articles.

    With `since` and `until`, only the pages captured in ``[since, until)`` (WARC-Date, file time).
    """
    logger = get_run_logger()
    archive = RawArchive(resolve(raw_store, endpoint_url=endpoint_url))
    total = BatchOutcome()
    seen = set(skip_ids)
    pages: list[RawPage] = []
    errors: list[ErrorRecord] = []

    def flush() -> None:
        result = ingest_pages(pages, archive=archive, run_id=run_id)
        total.add(
            _write_batch(
                result.articles, result.errors, result.pages_fetched, out=out, endpoint_url=endpoint_url
            )
        )
        pages.clear()
        logger.info("%s: %d articles so far", source, len(total.article_ids))

    for item in iter_pages(source, run_id=run_id, since=since, until=until):
        if isinstance(item, ErrorRecord):
            errors.append(item)
            continue
        key = article_id_for(item.ref.url)
        if key in seen:
            total.pages_skipped += 1
            continue
        seen.add(key)
        pages.append(item)
        if len(pages) >= batch_size:
            flush()
    if pages:
        flush()
    total.errors.extend(errors)
    return total


def _write_batch(
    articles: list[Article],
    errors: list[ErrorRecord],
    pages: int,
    *,
    out: str,
    endpoint_url: str | None,
) -> BatchOutcome:
    articles = first_of_each(articles, lambda a: a.article_id)
    ids = [a.article_id for a in articles]
    files = write_articles(
        articles, resolve(out, endpoint_url=endpoint_url), file_stem=file_stem("batch", ids)
    )
    urls = [
        u
        for a in articles
        for u in urls_to_record(a.url, final_url=a.extra.get("final_url"), canonical_url=a.canonical_url)
    ]
    return BatchOutcome(article_ids=ids, errors=list(errors), pages_fetched=pages, files=files, urls=urls)


@task(name="write-errors", **TASK_DEFAULTS)
def write_error_rows(errors: list[ErrorRecord], *, out: str, endpoint_url: str | None = None) -> int:
    """Write the run's error rows to `errors/`, leaving out those already there (same URL, stage, kind)."""
    root = resolve(out, endpoint_url=endpoint_url)
    recorded = read_dataset(root.child(ERRORS_DIR), columns=["url", "stage", "kind"])
    old: set[tuple[str, str, str]] = set()
    if recorded is not None:
        old = set(zip(*(recorded.column(c).to_pylist() for c in ("url", "stage", "kind")), strict=True))
    new: dict[tuple[str, str, str], ErrorRecord] = {}
    for e in errors:
        if error_key(e) not in old:
            new.setdefault(error_key(e), e)
    rows = list(new.values())
    write_errors(rows, root, file_stem=file_stem("run", ("\t".join(k) for k in new)))
    get_run_logger().info(
        "%d error rows this run, %d new in %s", len(errors), len(rows), root.child(ERRORS_DIR).uri
    )
    return len(rows)


@task(name="deduplicate", **TASK_DEFAULTS)
def deduplicate_articles(
    out: str,
    *,
    run_id: str,
    window_days: int = DEFAULT_WINDOW_DAYS,
    endpoint_url: str | None = None,
    chunk_rows: int | None = None,
) -> DedupOutcome:
    """Match the articles not yet in the dedup index against the history in its window.

    The articles are found by id (those under `articles/` that the index does not know), so a run
    that died before this step is caught up by the next; only their date partitions are read.
    They are taken `chunk_rows` (default `DEDUP_CHUNK_ROWS`) at a time, oldest first, each chunk
    one index update: after an outage or a large ``warc:`` source, memory stays that of a chunk.
    """
    chunk_rows = chunk_rows or DEDUP_CHUNK_ROWS
    from dedup.index import DedupIndex
    from dedup.inputs import docs_from_table
    from flows.artifacts import cluster_ids, cluster_news, copies_by_relation

    logger = get_run_logger()
    root = resolve(out, endpoint_url=endpoint_url)
    index = DedupIndex(root, window_days=window_days, texts=lambda wanted: _article_texts(root, wanted))
    pending = _unindexed_ids(root, index.known_ids())
    news = DedupOutcome()
    if pending is not None:
        before = cluster_ids(root)
        assignments: dict[str, Any] = {}
        new_ids: set[str] = set()
        for lo in range(0, pending.num_rows, chunk_rows):
            part = pending.slice(lo, chunk_rows)
            days = {str(d) for d in part["date"].to_pylist()}
            table = read_articles(root, columns=DEDUP_COLUMNS, days=days, ids=part["article_id"].to_pylist())
            if table is None or table.num_rows == 0:
                continue
            docs = docs_from_table(_first_of_each_id(table, root), where=root.child("articles").uri)
            update = index.update(docs, run_id=run_id)
            new_ids.update(d.id for d in docs)
            assignments.update((a.article_id, a) for a in update.assignments)  # a later chunk's word wins
            news.new_articles += update.new_articles
            logger.info(
                "%d new articles (%d of %d unindexed) against %d in the window: %d cluster rows rewritten, "
                "%d links, %d merges",
                update.new_articles,
                min(lo + chunk_rows, pending.num_rows),
                pending.num_rows,
                update.history_loaded,
                len(update.assignments),
                len(update.links),
                len(update.merges),
            )
        changed = list(assignments.values())
        news.new_clusters = len({a.cluster_id for a in changed} - before)
        news.new_copies = copies_by_relation(changed, new_ids)
        news.top_clusters = cluster_news(root, changed, new_ids=new_ids, old_cluster_ids=before)
    clusters = read_dataset(root.child("clusters"), columns=["cluster_id", "relation"])
    links = read_dataset(root.child("links"), columns=["article_id"])
    if clusters is None:
        logger.info("no articles under %s: nothing to deduplicate", root.uri)
        return DedupOutcome()
    relations = Counter(clusters["relation"].to_pylist())
    outcome = DedupOutcome(
        articles=clusters.num_rows,
        clusters=len(set(clusters["cluster_id"].to_pylist())),
        copies_by_relation={k: v for k, v in sorted(relations.items()) if k != ORIGINAL},
        links=links.num_rows if links is not None else 0,
        new_articles=news.new_articles,
        new_clusters=news.new_clusters,
        new_copies=news.new_copies,
        top_clusters=news.top_clusters,
    )
    logger.info(
        "%d articles in %d clusters, copies %s, %d links",
        outcome.articles,
        outcome.clusters,
        outcome.copies_by_relation or "none",
        outcome.links,
    )
    return outcome


#: Unindexed articles taken per index update (`deduplicate_articles`).
DEDUP_CHUNK_ROWS = 20_000
