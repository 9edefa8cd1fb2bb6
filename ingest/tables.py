"""The ``articles/`` and ``errors/`` tables: schemas, and writing them partitioned by ``date=YYYY-MM-DD``.

- ``articles/`` is partitioned by the day (UTC) an article was published, or fetched when the
  page gives no date; ``errors/`` by the day of the error.
- Files are written through `common.storage` (zstd, schema version in the metadata, atomic) as
  ``date=<day>/<file_stem>.parquet``: writing the same batch again under the same stem replaces
  its files instead of adding rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from common.storage import Location, list_files, partition_files, read_dataset, write_partitioned
from ingest.records import Article, ErrorRecord
from ingest.timeutil import to_utc

log = logging.getLogger(__name__)

ARTICLES_DIR = "articles"
ERRORS_DIR = "errors"
PARTITION = "date"
_TS = pa.timestamp("us", tz="UTC")

ARTICLES_SCHEMA = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("url", pa.string(), nullable=False),
        pa.field("canonical_url", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("author", pa.string()),
        pa.field("published_at", _TS),
        pa.field("fetched_at", _TS, nullable=False),
        pa.field("language", pa.string()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("word_count", pa.int32(), nullable=False),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("raw_uri", pa.string()),
        pa.field("site_name", pa.string()),
        # Added later: files written before it lack the column, read back as null (`read_articles`).
        pa.field("source_priority", pa.int32()),
        pa.field("extractor", pa.string()),
    ]
)
#: `ARTICLES_SCHEMA` with its partition column, as read back: older files lacking a column read as null.
ARTICLES_READ_SCHEMA = ARTICLES_SCHEMA.append(pa.field(PARTITION, pa.string()))

ERRORS_SCHEMA = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("message", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("at", _TS, nullable=False),
    ]
)


def article_day(article: Article) -> str:
    """The partition of an article: its publication day in UTC, else its fetch day."""
    return to_utc(article.published_at or article.fetched_at).strftime("%Y-%m-%d")


def articles_table(articles: Sequence[Article]) -> pa.Table:
    """`articles` as an Arrow table of `ARTICLES_SCHEMA` plus the ``date`` partition column."""
    columns: dict[str, list[object]] = {f.name: [] for f in ARTICLES_SCHEMA}
    days: list[str] = []
    for a in articles:
        for name in columns:
            value = getattr(a, name)
            if name in ("published_at", "fetched_at") and value is not None:
                value = to_utc(value)
            columns[name].append(value)
        days.append(article_day(a))
    table = pa.Table.from_pydict(columns, schema=ARTICLES_SCHEMA)
    return table.append_column(PARTITION, pa.array(days, pa.string()))


def errors_table(errors: Sequence[ErrorRecord]) -> pa.Table:
    """`errors` as an Arrow table of `ERRORS_SCHEMA` plus the ``date`` partition column."""
    columns: dict[str, list[object]] = {f.name: [] for f in ERRORS_SCHEMA}
    days: list[str] = []
    for e in errors:
        for name in columns:
            value = getattr(e, name)
            columns[name].append(to_utc(value) if name == "at" else value)
        days.append(to_utc(e.at).strftime("%Y-%m-%d"))
    table = pa.Table.from_pydict(columns, schema=ERRORS_SCHEMA)
    return table.append_column(PARTITION, pa.array(days, pa.string()))


def write_articles(articles: Sequence[Article], root: Location, *, file_stem: str) -> list[str]:
    """Write `articles` under ``<root>/articles/date=<day>/<file_stem>.parquet``; returns the file URIs.

    Raises:
        common.storage.StorageError: the store cannot be written.
    """
    if not articles:
        return []
    written = write_partitioned(
        articles_table(articles), root.child(ARTICLES_DIR), partition_col=PARTITION, file_stem=file_stem
    )
    log.info(
        "wrote %d articles in %d files under %s", len(articles), len(written), root.child(ARTICLES_DIR).uri
    )
    return written


def write_errors(errors: Sequence[ErrorRecord], root: Location, *, file_stem: str) -> list[str]:
    """Write `errors` under ``<root>/errors/date=<day>/<file_stem>.parquet``; returns the file URIs."""
    if not errors:
        return []
    written = write_partitioned(
        errors_table(errors), root.child(ERRORS_DIR), partition_col=PARTITION, file_stem=file_stem
    )
    log.info("wrote %d error rows under %s", len(errors), root.child(ERRORS_DIR).uri)
    return written


def read_article_ids(root: Location) -> set[str]:
    """Ids of the articles already under ``<root>/articles/`` (empty when there are none)."""
    table = read_dataset(root.child(ARTICLES_DIR), columns=["article_id"])
    if table is None:
        return set()
    return {str(v) for v in table.column("article_id").to_pylist()}


def read_articles(
    root: Location, *, columns: list[str], days: Iterable[str | None], ids: Iterable[str] | None = None
) -> pa.Table | None:
    """Rows of ``<root>/articles/`` in the given ``date=`` partitions (None: every partition),
    among `ids` when given: only the files of those days are read."""
    import pyarrow.dataset as pads

    loc = root.child(ARTICLES_DIR)
    days = set(days)
    files = (
        list_files(loc)
        if None in days
        else partition_files(loc, [d for d in days if d is not None], column=PARTITION)
    )
    if not files:
        return None
    dataset = articles_dataset(loc, files)
    where = (
        pads.field("article_id").isin(pa.array(sorted(set(ids)), pa.string())) if ids is not None else None
    )
    return dataset.to_table(columns=columns, filter=where)


def articles_dataset(loc: Location, files: list[str]) -> Any:
    """A pyarrow dataset over some files of ``articles/`` at `loc`, read with `ARTICLES_READ_SCHEMA`."""
    import pyarrow.dataset as pads

    return pads.dataset(
        files,
        schema=ARTICLES_READ_SCHEMA,
        filesystem=loc.fs,
        format="parquet",
        partitioning=pads.partitioning(pa.schema([pa.field(PARTITION, pa.string())]), flavor="hive"),
        partition_base_dir=loc.path,
    )
