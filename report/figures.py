"""The numbers behind each chart and table of the report, computed with pyarrow from `Tables`.

Each function returns plain rows (lists of tuples or dicts), small whatever the size of the output
root: per day, per cluster size, per delay bucket, per pair of publishers. docs/consumers.md gives
the same numbers as DuckDB and Polars queries, and a test checks that they agree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from report.tables import Tables

RELATIONS = ("exact", "near_duplicate", "expanded", "excerpt")
#: Buckets of the time from an original to a copy: (label, upper bound in minutes).
DELAY_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 5 min", 5),
    ("5-15 min", 15),
    ("15-60 min", 60),
    ("1-3 h", 180),
    ("3-6 h", 360),
    ("6-12 h", 720),
    ("12-24 h", 1440),
    ("1-2 days", 2880),
    ("2-7 days", 10080),
    ("> 7 days", float("inf")),
)
NO_DAY = "__HIVE_DEFAULT_PARTITION__"


@dataclass(slots=True)
class Figures:
    """Everything the overview, who-copies-whom and errors sections show."""

    articles: int
    clusters: int
    multi_clusters: int
    copies: int
    per_day: list[dict[str, Any]] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    delays: dict[str, list[int]] = field(default_factory=dict)
    top_originals: list[dict[str, Any]] = field(default_factory=list)
    matrix: list[tuple[str, str, int]] = field(default_factory=list)
    shares: list[tuple[str, int, int, int]] = field(default_factory=list)
    errors: list[tuple[str, str, int]] = field(default_factory=list)
    error_samples: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)


def compute(t: Tables, *, top: int = 20) -> Figures:
    clusters = t.clusters
    is_copy = pc.not_equal(clusters["relation"], "original")
    copies = clusters.filter(is_copy)
    originals = clusters.filter(pc.equal(clusters["relation"], "original"))
    multi = pc.sum(pc.greater(originals["cluster_size"], 1)).as_py() or 0
    return Figures(
        articles=t.articles.num_rows,
        clusters=originals.num_rows,
        multi_clusters=multi,
        copies=copies.num_rows,
        per_day=per_day(t),
        sizes=size_distribution(clusters),
        delays=delay_distribution(t),
        top_originals=top_originals(t, limit=top),
        matrix=who_copies_whom(t),
        shares=publisher_shares(t),
        errors=error_counts(t),
        error_samples=error_samples(t),
    )


def _counts(table: pa.Table, keys: list[str]) -> list[dict[str, Any]]:
    if table.num_rows == 0:
        return []
    rows: list[dict[str, Any]] = table.group_by(keys).aggregate([([], "count_all")]).to_pylist()
    return rows


def per_day(t: Tables) -> list[dict[str, Any]]:
    """Per partition day: articles, new clusters (their original is that day's), copies by relation,
    version links."""
    days: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in _counts(t.articles, ["date"]):
        days[row["date"]]["articles"] = row["count_all"]
    for row in _counts(t.clusters, ["date", "relation"]):
        key = "clusters" if row["relation"] == "original" else row["relation"]
        days[row["date"]][key] = row["count_all"]
    versions = t.links.filter(pc.equal(t.links["relation"], "version"))
    distinct = versions.group_by(["date", "article_id", "other_id"]).aggregate([])
    for row in _counts(distinct, ["date"]):
        days[row["date"]]["version"] = row["count_all"]
    keys = ("articles", "clusters", *RELATIONS, "version")
    return [
        {"day": day, **{k: days[day].get(k, 0) for k in keys}}
        for day in sorted(days, key=lambda d: (d == NO_DAY, d))
        if day is not None
    ]


def size_distribution(clusters: pa.Table) -> list[tuple[int, int]]:
    """(cluster size, clusters of that size), smallest first."""
    originals = clusters.filter(pc.equal(clusters["relation"], "original"))
    rows = _counts(originals, ["cluster_size"])
    return sorted((int(r["cluster_size"]), int(r["count_all"])) for r in rows)


def _copy_pairs(t: Tables) -> pa.Table:
    """One row per copy: its relation, source and published time, and its original's source and time."""
    copies = t.clusters.filter(pc.not_equal(t.clusters["relation"], "original")).select(
        ["article_id", "original_id", "relation", "cluster_id"]
    )
    meta = t.articles.select(["article_id", "source", "published_at"])
    copies = copies.join(meta, "article_id")
    originals = meta.rename_columns(["original_id", "original_source", "original_published_at"])
    return copies.join(originals, "original_id")


def delay_distribution(t: Tables) -> dict[str, list[int]]:
    """Per relation, how many copies appeared within each `DELAY_BUCKETS` bucket of their original."""
    pairs = _copy_pairs(t)
    known = pairs.filter(
        pc.and_(pc.is_valid(pairs["published_at"]), pc.is_valid(pairs["original_published_at"]))
    )
    seconds = pc.divide(
        pc.cast(pc.subtract(known["published_at"], known["original_published_at"]), pa.int64()), 1_000_000
    ).to_numpy(zero_copy_only=False)
    relations = known["relation"].to_pylist()
    out = {rel: [0] * len(DELAY_BUCKETS) for rel in RELATIONS}
    for rel, secs in zip(relations, seconds, strict=True):
        minutes = max(float(secs), 0.0) / 60
        bucket = next(i for i, (_, upper) in enumerate(DELAY_BUCKETS) if minutes < upper)
        out.setdefault(rel, [0] * len(DELAY_BUCKETS))[bucket] += 1
    return out


def top_originals(t: Tables, *, limit: int = 20) -> list[dict[str, Any]]:
    """The originals with the most copies: cluster id, copies, title, source, url, published time."""
    copies = t.clusters.filter(pc.not_equal(t.clusters["relation"], "original"))
    counted = _counts(copies, ["cluster_id", "original_id"])
    counted.sort(key=lambda r: (-r["count_all"], r["cluster_id"]))
    counted = counted[:limit]
    ids = pa.array([r["original_id"] for r in counted], pa.string())
    meta = t.articles.filter(pc.is_in(t.articles["article_id"], value_set=ids)).to_pylist()
    by_id = {m["article_id"]: m for m in meta}
    return [
        {
            "cluster_id": r["cluster_id"],
            "original_id": r["original_id"],
            "copies": r["count_all"],
            "title": by_id.get(r["original_id"], {}).get("title"),
            "source": by_id.get(r["original_id"], {}).get("source"),
            "url": by_id.get(r["original_id"], {}).get("url"),
            "published_at": by_id.get(r["original_id"], {}).get("published_at"),
        }
        for r in counted
    ]


def who_copies_whom(t: Tables) -> list[tuple[str, str, int]]:
    """(original's source, copy's source, copies), most copies first."""
    rows = _counts(_copy_pairs(t), ["original_source", "source"])
    found = [(r["original_source"] or "?", r["source"] or "?", r["count_all"]) for r in rows]
    return sorted(found, key=lambda r: (-r[2], r[0], r[1]))


def publisher_shares(t: Tables) -> list[tuple[str, int, int, int]]:
    """(source, originals of a cluster of two or more, copies, articles alone), most articles first."""
    joined = t.articles.select(["article_id", "source"]).join(
        t.clusters.select(["article_id", "relation", "cluster_size"]), "article_id"
    )
    role = pc.if_else(
        pc.not_equal(joined["relation"], "original"),
        "copy",
        pc.if_else(pc.greater(joined["cluster_size"], 1), "original", "alone"),
    )
    joined = joined.append_column("role", role)
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for r in _counts(joined, ["source", "role"]):
        counts[r["source"] or "?"][r["role"]] = r["count_all"]
    rows = [(s, c.get("original", 0), c.get("copy", 0), c.get("alone", 0)) for s, c in counts.items()]
    return sorted(rows, key=lambda r: (-(r[1] + r[2] + r[3]), r[0]))


def error_counts(t: Tables) -> list[tuple[str, str, int]]:
    """(stage, kind, errors), most first."""
    rows = [
        (r["stage"] or "?", r["kind"] or "?", r["count_all"]) for r in _counts(t.errors, ["stage", "kind"])
    ]
    return sorted(rows, key=lambda r: (-r[2], r[0], r[1]))


def error_samples(t: Tables, *, per_kind: int = 3) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Up to `per_kind` (url or source, message) of each (stage, kind), latest first."""
    errors = t.errors
    if errors.num_rows == 0:
        return {}
    errors = errors.sort_by([("at", "descending"), ("url", "ascending")])
    out: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    cols = [errors[c].to_pylist() for c in ("stage", "kind", "url", "source", "message")]
    for stage, kind, url, source, message in zip(*cols, strict=True):
        key = (stage or "?", kind or "?")
        if len(out[key]) < per_kind:
            out[key].append((url or source or "?", message or ""))
    return dict(out)
