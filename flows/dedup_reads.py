"""What the deduplicate task reads of `articles/`: the ids the index lacks, their rows, their texts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prefect import get_run_logger

from common.storage import Location, read_dataset
from ingest.tables import read_articles

DEDUP_COLUMNS = [
    "article_id",
    "text",
    "title",
    "url",
    "canonical_url",
    "source",
    "published_at",
    "fetched_at",
    "source_priority",
]


def _article_texts(root: Location, wanted: Mapping[str, str | None]) -> dict[str, str]:
    """Texts of the given articles, reading only the date partitions they are in."""
    table = read_articles(root, columns=["article_id", "text"], days=wanted.values(), ids=wanted)
    if table is None:
        return {}
    return dict(zip(table["article_id"].to_pylist(), table["text"].to_pylist(), strict=True))


def _unindexed_ids(root: Location, known: set[str]) -> Any:
    """article_id and date of the rows of `articles/` whose ids are not in `known`, oldest day first."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = read_dataset(root.child("articles"), columns=["article_id", "date"])
    if ids is None:
        return None
    new = ids.filter(pc.invert(pc.is_in(ids["article_id"], value_set=pa.array(sorted(known), pa.string()))))
    if new.num_rows == 0:
        return None
    new = new.set_column(1, "date", pc.cast(new["date"], pa.string()))
    return new.sort_by([("date", "ascending"), ("article_id", "ascending")])


def _first_of_each_id(table: Any, root: Location) -> Any:
    """Rows of `table` with the first occurrence of each article id (a store written by two runs at once)."""
    ids = table.column("article_id").to_pylist()
    first: dict[str, int] = {}
    for i, key in enumerate(ids):
        first.setdefault(key, i)
    if len(first) == len(ids):
        return table
    get_run_logger().warning(
        "%d duplicate article rows under %s ignored", len(ids) - len(first), root.child("articles").uri
    )
    return table.take(sorted(first.values()))
