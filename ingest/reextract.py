"""Rebuild ``articles/`` from the raw archive, fetching nothing: for when the extractor improves.

Every page under ``<root>/raw/`` is read back and extracted again (in batches, in the extraction
pool); each becomes an article with the same ``article_id`` (an id is its URL) or an ``errors/``
row (stage ``extract``). When one URL has several raw objects (its page changed between two
captures), the one ``articles/`` points to is used, else the latest fetched.

Replacing, not adding: the new rows are written first, under names that depend only on their ids
(``articles/date=<day>/reextract-<hash>.parquet``), and the files that were there before are
deleted only once all the new ones are in place. A run that dies part-way leaves the old files
(and perhaps some new ones) visible; running it again writes the same new files and finishes the
clean-up. Rows of ``articles/`` whose page is not in the archive, cannot be read from it right now,
or no longer extracts are carried over unchanged (the last two with an ``errors/`` row).
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from common import progress
from common.storage import (
    Location,
    StorageError,
    delete_files,
    list_files,
    read_dataset,
    stable_name,
    write_partitioned,
)
from ingest.archive import SUFFIX, RawArchive
from ingest.batch import BatchResult, collect_outcomes
from ingest.errors import IngestError
from ingest.extract import MIN_WORDS
from ingest.failures import error_record
from ingest.pool import ExtractJobs
from ingest.records import RawPage
from ingest.tables import (
    ARTICLES_DIR,
    ARTICLES_SCHEMA,
    PARTITION,
    articles_dataset,
    write_articles,
    write_errors,
)
from ingest.urls import article_id_for

log = logging.getLogger(__name__)

#: Raw pages read and extracted together; each batch's articles are written as they are done.
BATCH_SIZE = 500
_RAW_NAME = re.compile(r"([0-9a-f]{64})-([0-9a-f]{16})" + re.escape(SUFFIX) + "$")


def reextract(
    root: Location,
    *,
    run_id: str,
    workers: int | None = None,
    min_words: int = MIN_WORDS,
    batch_size: int = BATCH_SIZE,
    raw_root: Location | None = None,
) -> BatchResult:
    """Extract every page of ``<raw_root>/raw/`` (default ``<root>/raw/``) again and replace
    ``<root>/articles/`` with the result.

    Error rows are written to ``<root>/errors/`` too. Returns what was made (`pages_fetched`
    counts the raw pages read).

    Raises:
        common.storage.StorageError: the store cannot be listed, read or written.
    """
    started = time.monotonic()
    archive = RawArchive(raw_root or root)
    articles_loc = root.child(ARTICLES_DIR)
    old_files = list_files(articles_loc)
    current = read_dataset(articles_loc, columns=["article_id", "raw_uri"])
    pointed: dict[str, str | None] = {}
    if current is not None:
        pointed = dict(
            zip(current.column("article_id").to_pylist(), current.column("raw_uri").to_pylist(), strict=True)
        )
    chosen = _choose(archive, list_files(archive.root, suffix=SUFFIX), pointed)
    result = BatchResult()
    written: set[str] = set()
    extracted: set[str] = set()
    ids = sorted(chosen)
    progress.start("fetch", total=len(ids))
    progress.start("extract", total=len(ids))
    for start in range(0, len(ids), batch_size):
        batch = [chosen[i] for i in ids[start : start + batch_size]]
        made = _extract_batch(archive, batch, run_id=run_id, workers=workers, min_words=min_words)
        if made.articles:
            stem = _stem("reextract", (a.article_id for a in made.articles))
            written.update(_path_of(u) for u in write_articles(made.articles, root, file_stem=stem))
            extracted.update(a.article_id for a in made.articles)
        result.extend(made)
    # Only rows extracted again are replaced: an article whose raw page cannot be read now (a store
    # error) or no longer extracts keeps its row (clusters/ and the index still hold it), with an
    # errors/ row saying why it was not redone.
    kept = _carry_over(articles_loc, old_files, keep_out=extracted)
    if kept is not None:
        stem = _stem("reextract-kept", kept.column("article_id").to_pylist())
        written.update(
            _path_of(u)
            for u in write_partitioned(kept, articles_loc, partition_col=PARTITION, file_stem=stem)
        )
    stale = [path for path in old_files if path not in written]
    delete_files(articles_loc, stale)
    write_errors(result.errors, root, file_stem=f"reextract-{run_id}")
    log.info(
        "re-extracted %d raw pages: %d articles, %d errors, %d rows kept without a raw page; "
        "replaced %d files in %.1f s",
        result.pages_fetched,
        len(result.articles),
        len(result.errors),
        0 if kept is None else kept.num_rows,
        len(stale),
        time.monotonic() - started,
    )
    return result


def _choose(archive: RawArchive, paths: list[str], pointed: dict[str, str | None]) -> dict[str, str]:
    """One raw object URI per article id: the one ``articles/`` points to, else the latest fetched."""
    by_id: dict[str, list[str]] = defaultdict(list)
    prefix = archive.root.path.rstrip("/") + "/"
    for path in paths:
        uri = archive.root.child(path.removeprefix(prefix)).uri
        match = _RAW_NAME.search(path)
        if match:
            by_id[match.group(2)].append(uri)
            continue
        try:  # not named by the archive: its id is in the page itself
            by_id[article_id_for(archive.get(uri).ref.url)].append(uri)
        except IngestError as exc:
            log.warning("skipping unreadable raw object %s: %s", uri, exc)
    chosen: dict[str, str] = {}
    for article_id, uris in by_id.items():
        if len(uris) == 1 or pointed.get(article_id) in uris:
            chosen[article_id] = uris[0] if len(uris) == 1 else str(pointed[article_id])
            continue
        dated = []
        for uri in uris:
            try:
                dated.append((archive.get(uri).fetched_at, uri))
            except IngestError as exc:
                log.warning("skipping unreadable raw object %s: %s", uri, exc)
        if dated:
            chosen[article_id] = max(dated)[1]
    return chosen


def _extract_batch(
    archive: RawArchive, uris: list[str], *, run_id: str, workers: int | None, min_words: int
) -> BatchResult:
    made = BatchResult()
    jobs = ExtractJobs(workers=workers, min_words=min_words, expected=len(uris))
    for uri in uris:
        try:
            page: RawPage = archive.get(uri)
        except IngestError as exc:
            made.errors.append(error_record(url=uri, source="raw", stage="archive", error=exc, run_id=run_id))
            continue
        made.pages_fetched += 1
        jobs.add(page)
    collect_outcomes(jobs, made, run_id=run_id)
    return made


def _carry_over(loc: Location, files: list[str], *, keep_out: set[str]) -> pa.Table | None:
    """Rows of the old `files` whose article has no raw page (so cannot be re-extracted), or None."""
    if not files:
        return None
    try:
        table = articles_dataset(loc, files).to_table()
    except (OSError, pa.ArrowException) as exc:
        raise StorageError(f"cannot read {loc.uri}: {exc}") from exc
    table = table.filter(
        pc.invert(pc.is_in(table.column("article_id"), pa.array(sorted(keep_out), pa.string())))
    )
    if table.num_rows == 0:
        return None
    days = pc.cast(table.column(PARTITION), pa.string())
    rows = table.select(ARTICLES_SCHEMA.names).cast(ARTICLES_SCHEMA)
    return rows.append_column(PARTITION, days)


def _stem(prefix: str, ids: Iterable[str]) -> str:
    return f"{prefix}-{stable_name(ids)}"


def _path_of(uri: str) -> str:
    """The filesystem path of a URI `write_file` returned (``s3://bucket/key`` -> ``bucket/key``)."""
    return uri.removeprefix("s3://")
