"""The cluster pages' data: the largest clusters, each original with every member and its diff,
written as small script files the page loads when they are opened.

    data/index.js          copydeskIndex([...]): per cluster its id, size, the original's title and
                           source, its members' ids, and the page file that holds it (for the search box)
    data/clusters-0001.js  copydeskPage(1, [...]): `PAGE_SIZE` clusters, largest first, in full

Script files, not JSON fetched by the page: a browser opening the report from disk (file://) runs
a <script src> beside it, but refuses fetch() of a local file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from report import diff
from report.tables import Tables, texts_of

PAGE_SIZE = 25


@dataclass(slots=True)
class ClusterPages:
    """What was written: how many clusters got a page, in how many files."""

    clusters: int
    files: int
    bytes: int


def largest(t: Tables, limit: int) -> list[str]:
    """Ids of the `limit` largest clusters of two or more members (ties: smallest id)."""
    originals = t.clusters.filter(
        pc.and_(pc.equal(t.clusters["relation"], "original"), pc.greater(t.clusters["cluster_size"], 1))
    )
    if originals.num_rows == 0:
        return []
    order = originals.sort_by([("cluster_size", "descending"), ("cluster_id", "ascending")])
    ids: list[str] = order["cluster_id"].slice(0, limit).to_pylist()
    return ids


def cluster_records(t: Tables, ids: list[str]) -> Iterator[dict[str, Any]]:
    """Each cluster of `ids` (in that order): its original and its members with their diffs."""
    wanted = pa.array(ids, pa.string())
    rows = t.clusters.filter(pc.is_in(t.clusters["cluster_id"], value_set=wanted)).to_pylist()
    by_cluster: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_cluster.setdefault(row["cluster_id"], []).append(row)
    article_ids = {r["article_id"] for r in rows} | {r["original_id"] for r in rows}
    meta_rows = t.articles.filter(
        pc.is_in(t.articles["article_id"], value_set=pa.array(sorted(article_ids), pa.string()))
    ).to_pylist()
    meta = {m["article_id"]: m for m in meta_rows}
    texts = texts_of(t.root, article_ids)
    for cluster_id in ids:
        members = by_cluster.get(cluster_id, [])
        if not members:
            continue
        original_id = members[0]["original_id"]
        original_words = diff.tokens(texts.get(original_id) or "")
        original_keys = diff.keys(original_words)
        copies = sorted(
            (m for m in members if m["article_id"] != original_id),
            key=lambda m: (_time(meta.get(m["article_id"], {})), m["article_id"]),
        )
        out_members = []
        for m in copies:
            copy_words = diff.tokens(texts.get(m["article_id"]) or "")
            ops = diff.diff(original_words, copy_words, original_keys=original_keys)
            out_members.append(
                {
                    **_article(m["article_id"], meta),
                    "relation": m["relation"],
                    "containment": _round(m["containment"]),
                    "jaccard": _round(m["jaccard"]),
                    "kept": _round(m["kept_fraction"]),
                    "counts": diff.summary(ops, original_words),
                    "ops": ops,
                }
            )
        yield {
            "id": cluster_id,
            "size": len(members),
            "original": {**_article(original_id, meta), "words": original_words},
            "members": out_members,
        }


def _time(m: dict[str, Any]) -> str:
    when = m.get("published_at") or m.get("fetched_at")
    return when.isoformat() if isinstance(when, datetime) else ""


def _article(article_id: str, meta: dict[str, dict[str, Any]]) -> dict[str, Any]:
    m = meta.get(article_id, {})
    published = m.get("published_at")
    return {
        "id": article_id,
        "title": m.get("title"),
        "source": m.get("source"),
        "url": m.get("url"),
        "published": published.strftime("%Y-%m-%d %H:%M UTC") if isinstance(published, datetime) else None,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def write_cluster_pages(t: Tables, folder: str, *, limit: int) -> ClusterPages:
    """Write `folder/data/index.js` and one `clusters-NNNN.js` per `PAGE_SIZE` clusters."""
    data = os.path.join(folder, "data")
    os.makedirs(data, exist_ok=True)
    index: list[list[Any]] = []
    page: list[dict[str, Any]] = []
    files = 0
    written = 0

    def flush() -> None:
        nonlocal files, written
        files += 1
        written += _write_js(os.path.join(data, f"clusters-{files:04d}.js"), "copydeskPage", files, page)
        page.clear()

    for record in cluster_records(t, largest(t, limit)):
        page.append(record)
        o = record["original"]
        members = [o["id"], *(m["id"] for m in record["members"])]
        index.append([record["id"], record["size"], o["title"], o["source"], files + 1, members])
        if len(page) == PAGE_SIZE:
            flush()
    if page:
        flush()
    written += _write_js(os.path.join(data, "index.js"), "copydeskIndex", None, index)
    return ClusterPages(clusters=len(index), files=files, bytes=written)


def _write_js(path: str, callback: str, number: int | None, payload: Any) -> int:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    # "</" inside a string would end a <script> block; escaped, JSON stays the same value.
    body = body.replace("</", "<\\/")
    args = body if number is None else f"{number},{body}"
    text = f"{callback}({args});\n"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return len(text.encode())
