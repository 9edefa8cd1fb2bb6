"""Read what the report needs from an output root: narrow columns of articles/, clusters/, links/
and errors/, for a range of partition days, through the store layer (a local folder or s3://).

Texts are not read here: only the members of the clusters that get a page need theirs
(`texts_of`), so a report of 100k articles reads a few megabytes of metadata, not the bodies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from common.storage import Location, list_files

ARTICLE_COLUMNS = ("article_id", "source", "title", "url", "published_at", "fetched_at", "date")
CLUSTER_COLUMNS = (
    "article_id",
    "cluster_id",
    "original_id",
    "relation",
    "jaccard",
    "containment",
    "cluster_size",
    "kept_fraction",
    "date",
)
LINK_COLUMNS = ("article_id", "other_id", "relation", "date")
ERROR_COLUMNS = ("url", "source", "stage", "kind", "message", "at", "date")


@dataclass(slots=True)
class Tables:
    """The four tables of one output root, narrowed to the report's columns and days."""

    root: Location
    articles: pa.Table
    clusters: pa.Table
    links: pa.Table
    errors: pa.Table
    start: date | None
    end: date | None


def read_tables(root: Location, *, start: date | None = None, end: date | None = None) -> Tables:
    """The report's columns of every table under `root`, for the partition days `start`..`end`."""
    return Tables(
        root=root,
        articles=_read(root.child("articles"), ARTICLE_COLUMNS, start, end),
        clusters=_read(root.child("clusters"), CLUSTER_COLUMNS, start, end),
        links=_read(root.child("links"), LINK_COLUMNS, start, end),
        errors=_read(root.child("errors"), ERROR_COLUMNS, start, end),
        start=start,
        end=end,
    )


def _dataset(loc: Location) -> Any:
    """A pyarrow dataset of the visible files under `loc`, None when there are none."""
    import pyarrow.dataset as pads

    files = list_files(loc)
    if not files:
        return None
    # The day stays a string: "__HIVE_DEFAULT_PARTITION__" (no known day) must not break the read.
    by_day = pads.partitioning(pa.schema([("date", pa.string())]), flavor="hive")
    return pads.dataset(
        files, filesystem=loc.fs, format="parquet", partitioning=by_day, partition_base_dir=loc.path
    )


def _read(loc: Location, columns: Sequence[str], start: date | None, end: date | None) -> pa.Table:

    dataset = _dataset(loc)
    if dataset is None:
        return _empty(columns)
    present = [c for c in columns if c in dataset.schema.names]
    where = None
    if start is not None:
        where = pc.field("date") >= start.isoformat()
    if end is not None:
        upto = pc.field("date") <= end.isoformat()
        where = upto if where is None else where & upto
    table = dataset.to_table(columns=present, filter=where)
    for name in columns:  # a table written before a column existed still reads
        if name not in present:
            table = table.append_column(name, pa.nulls(table.num_rows, _TYPES.get(name, pa.string())))
    return table.select(list(columns))


_TYPES: dict[str, pa.DataType] = {
    "published_at": pa.timestamp("us", tz="UTC"),
    "fetched_at": pa.timestamp("us", tz="UTC"),
    "at": pa.timestamp("us", tz="UTC"),
    "jaccard": pa.float64(),
    "containment": pa.float64(),
    "kept_fraction": pa.float64(),
    "cluster_size": pa.int64(),
}


def _empty(columns: Sequence[str]) -> pa.Table:
    return pa.table({c: pa.array([], _TYPES.get(c, pa.string())) for c in columns})


def texts_of(root: Location, ids: Iterable[str]) -> dict[str, str]:
    """article_id -> text of the given articles, whatever their day."""

    wanted = pa.array(sorted(set(ids)), pa.string())
    dataset = _dataset(root.child("articles"))
    if dataset is None or not len(wanted):
        return {}
    table = dataset.to_table(columns=["article_id", "text"], filter=pc.field("article_id").isin(wanted))
    return dict(zip(table["article_id"].to_pylist(), table["text"].to_pylist(), strict=True))
