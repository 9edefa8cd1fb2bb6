"""The dedup package's tables: `clusters/` (one row per article, its current grouping) and `links/`
(one row per verified relation), Parquet partitioned Hive-style by the article's `date`.

`clusters/` is state as well as output: each partition is one file with a fixed name, rewritten
whole when any of its rows change, so it always holds exactly one row per article. `links/` files
are named by the batch that found them, so writing the same batch again replaces them; a batch
redone after a crash with other articles leaves out the pairs stored already (`write_links`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from common.storage import (
    Location,
    delete_files,
    list_files,
    partition_files,
    read_dataset,
    write_partitioned,
)
from dedup.records import Assignment, DedupResult, Doc, Link

#: The `date=` partition of an article with no date at all (neither published nor fetched): a
#: fixed string, so the partition column always has a value and readers always infer one type.
UNDATED = "undated"
#: Hive's name for a null partition value, which older runs wrote for undated articles: pyarrow
#: and DuckDB read it back as NULL (and fail to infer a type when it is the only partition).
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
STATE_STEM = "part-0"

CLUSTERS_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("cluster_id", pa.string()),
        ("original_id", pa.string()),
        ("relation", pa.string()),
        ("jaccard", pa.float64()),
        ("containment", pa.float64()),
        ("cluster_size", pa.int64()),
        ("added_text", pa.string()),
        ("kept_fraction", pa.float64()),
        ("copy_of", pa.string()),
        ("run_id", pa.string()),
        ("date", pa.string()),
    ]
)
LINKS_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("other_id", pa.string()),
        ("relation", pa.string()),
        ("jaccard", pa.float64()),
        ("containment_ab", pa.float64()),
        ("containment_ba", pa.float64()),
        ("run_id", pa.string()),
        ("date", pa.string()),
    ]
)


def partition_date(when: datetime | None) -> str:
    """The `date=` partition value of a time: its UTC day, or `UNDATED`."""
    return when.date().isoformat() if when is not None else UNDATED


def doc_date(doc: Doc) -> str:
    """An article's partition: its publication day, else the day it was fetched."""
    return partition_date(doc.published_at or doc.fetched_at)


def clusters_table(assignments: Sequence[Assignment], dates: Mapping[str, str], *, run_id: str) -> pa.Table:
    a = assignments
    return pa.table(
        {
            "article_id": [x.article_id for x in a],
            "cluster_id": [x.cluster_id for x in a],
            "original_id": [x.original_id for x in a],
            "relation": [x.relation for x in a],
            "jaccard": [x.jaccard for x in a],
            "containment": [x.containment for x in a],
            "cluster_size": [x.cluster_size for x in a],
            "added_text": [x.added_text for x in a],
            "kept_fraction": [x.kept_fraction for x in a],
            "copy_of": [x.copy_of for x in a],
            "run_id": [run_id] * len(a),
            "date": [dates.get(x.article_id, UNDATED) for x in a],
        },
        schema=CLUSTERS_SCHEMA,
    )


def links_table(links: Sequence[Link], dates: Mapping[str, str], *, run_id: str) -> pa.Table:
    return pa.table(
        {
            "article_id": [x.article_id for x in links],
            "other_id": [x.other_id for x in links],
            "relation": [x.relation for x in links],
            "jaccard": [x.jaccard for x in links],
            "containment_ab": [x.containment_ab for x in links],
            "containment_ba": [x.containment_ba for x in links],
            "run_id": [run_id] * len(links),
            "date": [dates.get(x.article_id, UNDATED) for x in links],
        },
        schema=LINKS_SCHEMA,
    )


def read_membership(root: Location) -> pa.Table:
    """article_id, cluster_id and date of every row of `clusters/`: the narrow read an update needs."""
    table = read_dataset(root.child("clusters"), columns=["article_id", "cluster_id", "date"])
    if table is None:
        return pa.table({n: pa.array([], pa.string()) for n in ("article_id", "cluster_id", "date")})
    # A partition an older run wrote as Hive's null keeps its folder name, so upserts find it.
    day = pc.fill_null(pc.cast(table["date"], pa.string()), NULL_PARTITION)
    return table.set_column(2, "date", day)


def upsert_clusters(root: Location, rows: pa.Table, membership: pa.Table | None = None) -> list[str]:
    """Replace the rows of these articles in `clusters/`, rewriting only the partitions where a row
    changes (a row equal to the stored one but for `run_id` stays as it is).

    An article whose partition changed is removed from its old partition too. `membership` (from
    `read_membership`) saves reading it again.
    """
    membership = membership if membership is not None else read_membership(root)
    changed, touched = _touched(rows, membership)
    loc = root.child("clusters")
    files = partition_files(loc, touched, column="date")
    parts = []
    if files:
        import pyarrow.dataset as pads

        current = pads.dataset(
            files, filesystem=loc.fs, format="parquet", partitioning="hive", partition_base_dir=loc.path
        ).to_table()
        current = current.set_column(
            current.column_names.index("date"),
            "date",
            pc.fill_null(pc.cast(current["date"], pa.string()), NULL_PARTITION),
        )
        if "copy_of" not in current.column_names:  # written before the column existed
            current = current.append_column("copy_of", pa.nulls(current.num_rows, pa.string()))
        before = current.filter(pc.is_in(current["article_id"], value_set=changed))
        rows = _keep_added_text(rows, before)
        rows = _unlike(rows, before)
        if rows.num_rows == 0:
            return []
        changed, touched = _touched(rows, membership)
        files = partition_files(loc, touched, column="date", files=files)
        current = current.filter(pc.is_in(current["date"], value_set=pa.array(touched, pa.string())))
        parts.append(
            current.filter(pc.invert(pc.is_in(current["article_id"], value_set=changed)))
            .select(CLUSTERS_SCHEMA.names)
            .cast(CLUSTERS_SCHEMA)
        )
    merged = pa.concat_tables([*parts, rows.cast(CLUSTERS_SCHEMA)]).sort_by("article_id")
    written = write_partitioned(merged, loc, partition_col="date", file_stem=STATE_STEM)
    emptied = set(touched) - set(merged["date"].to_pylist())
    delete_files(loc, partition_files(loc, emptied, column="date", files=files))
    return written


def _touched(rows: pa.Table, membership: pa.Table) -> tuple[pa.Array, list[str]]:
    """The article ids of `rows`, and the partitions they are written to or leave."""
    changed = pa.array(sorted(set(rows["article_id"].to_pylist())), pa.string())
    old_dates = membership.filter(pc.is_in(membership["article_id"], value_set=changed))["date"]
    return changed, sorted(set(rows["date"].to_pylist()) | set(old_dates.to_pylist()))


def _unlike(rows: pa.Table, before: pa.Table) -> pa.Table:
    """The rows that differ from the stored row of their article in more than `run_id`."""
    names = [n for n in CLUSTERS_SCHEMA.names if n != "run_id"]
    stored = {r["article_id"]: r for r in before.select(names).to_pylist()}
    keep = [stored.get(r["article_id"]) != r for r in rows.select(names).to_pylist()]
    return rows.filter(pa.array(keep, pa.bool_()))


def _keep_added_text(rows: pa.Table, before: pa.Table) -> pa.Table:
    """An expanded copy regrouped without its text (history) keeps the added text it had, as long
    as it is still an expanded copy of the same original."""
    had = {
        (a, o): t
        for a, o, r, t in zip(
            *(before[c].to_pylist() for c in ("article_id", "original_id", "relation", "added_text")),
            strict=True,
        )
        if r == "expanded" and t
    }
    if not had:
        return rows
    texts = rows["added_text"].to_pylist()
    keys = zip(rows["article_id"].to_pylist(), rows["original_id"].to_pylist(), strict=True)
    filled = [t if t is not None else had.get(k) for t, k in zip(texts, keys, strict=True)]
    return rows.set_column(rows.column_names.index("added_text"), "added_text", pa.array(filled, pa.string()))


def write_links(root: Location, table: pa.Table, *, file_stem: str, redone: Iterable[str] = ()) -> list[str]:
    """Write a batch's links under `links/`, one file per date named `file_stem`.

    `redone`: articles an earlier, interrupted run already got as far as `clusters/` with. Their
    links may be stored already, in a file named after that run's batch, so the pairs found
    there are left out: a pair of articles is in `links/` once however often a batch is redone.
    """
    redone = set(redone)
    if redone:
        table = _without_stored_pairs(root.child("links"), table, redone)
    return write_partitioned(table, root.child("links"), partition_col="date", file_stem=file_stem)


def _without_stored_pairs(loc: Location, table: pa.Table, ids: set[str]) -> pa.Table:
    """The rows of `table` whose pair of articles (either way round) `links/` does not hold yet,
    looking only at the stored rows of the partitions written to that touch `ids`."""
    import pyarrow.dataset as pads

    days = set(table["date"].to_pylist())
    files = [p for p in list_files(loc) if any(f"/date={d}/" in p for d in days)]
    if not files or table.num_rows == 0:
        return table
    wanted = pa.array(sorted(ids), pa.string())
    touching = pc.field("article_id").isin(wanted) | pc.field("other_id").isin(wanted)
    stored = pads.dataset(
        files, filesystem=loc.fs, format="parquet", partitioning="hive", partition_base_dir=loc.path
    ).to_table(columns=["article_id", "other_id"], filter=touching)
    have = {
        frozenset(p) for p in zip(*(stored[c].to_pylist() for c in ("article_id", "other_id")), strict=True)
    }
    pairs = zip(*(table[c].to_pylist() for c in ("article_id", "other_id")), strict=True)
    return table.filter(pa.array([frozenset(p) not in have for p in pairs], pa.bool_()))


def replace_all(result: DedupResult, docs: Iterable[Doc], root: Location, *, run_id: str) -> tuple[int, int]:
    """Replace `clusters/` and `links/` under `root` with `result` (a one-pass dedup of `docs`)."""
    dates = {d.id: doc_date(d) for d in docs}
    clusters = clusters_table(result.assignments, dates, run_id=run_id)
    links = links_table(result.links, dates, run_id=run_id)
    for name, table in (("clusters", clusters), ("links", links)):
        loc = root.child(name)
        before = list_files(loc)
        written = write_partitioned(table, loc, partition_col="date", file_stem=STATE_STEM)
        keep = {w.rsplit("/", 2)[-2] + "/" + w.rsplit("/", 1)[-1] for w in written}
        delete_files(
            loc, [p for p in before if p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] not in keep]
        )
    return clusters.num_rows, links.num_rows
