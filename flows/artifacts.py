"""What a run publishes to Prefect: a table of counts and a markdown page of the largest new clusters.

The rows and the page are built by plain functions (tested without Prefect); `publish` hands them
to `prefect.artifacts` under stable keys, so the Artifacts page of the UI shows each key's history:

    copydesk-<flow>-counts     fetched, articles, new clusters, copies by relation, errors by kind
    copydesk-<flow>-clusters   the largest clusters the run created or added to: the original's
                               title and source, then every member's source and relation
    copydesk-<flow>-report     a link to the HTML report, when the run wrote one (COPYDESK_REPORT_DIR)
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from common.storage import Location, list_files, read_dataset
from dedup.records import ORIGINAL, Assignment
from flows.summary import ClusterNews, RunSummary, counts_rows

log = logging.getLogger(__name__)

#: Clusters shown on the markdown page.
TOP_CLUSTERS = 10


def cluster_news(
    root: Location,
    assignments: Sequence[Assignment],
    *,
    new_ids: set[str],
    old_cluster_ids: set[str],
    limit: int = TOP_CLUSTERS,
) -> list[ClusterNews]:
    """The largest clusters (two articles or more) that one index update created or gave new members."""
    by_cluster: dict[str, list[Assignment]] = {}
    for a in assignments:
        by_cluster.setdefault(a.cluster_id, []).append(a)
    touched = [
        members
        for members in by_cluster.values()
        if len(members) > 1 and any(m.article_id in new_ids for m in members)
    ]
    touched.sort(key=lambda ms: (-len(ms), ms[0].cluster_id))
    touched = touched[:limit]
    meta = article_meta(root, {m.article_id for ms in touched for m in ms})
    out = []
    for members in touched:
        members = sorted(members, key=lambda m: (m.relation != ORIGINAL, m.relation, m.article_id))
        original = members[0].original_id
        title, source, url = meta.get(original, (None, None, None))
        out.append(
            ClusterNews(
                cluster_id=members[0].cluster_id,
                size=len(members),
                created=members[0].cluster_id not in old_cluster_ids,
                original_id=original,
                original_title=title,
                original_source=source,
                original_url=url,
                members=[(_source(meta, m.article_id), m.relation, m.article_id in new_ids) for m in members],
            )
        )
    return out


def _source(meta: dict[str, tuple[str | None, str | None, str | None]], article_id: str) -> str:
    return meta.get(article_id, (None, None, None))[1] or article_id


def article_meta(root: Location, ids: set[str]) -> dict[str, tuple[str | None, str | None, str | None]]:
    """(title, source, url) of the given articles, from `articles/`."""
    if not ids:
        return {}
    import pyarrow.dataset as pads

    loc = root.child("articles")
    files = list_files(loc)
    if not files:
        return {}
    dataset = pads.dataset(
        files, filesystem=loc.fs, format="parquet", partitioning="hive", partition_base_dir=loc.path
    )
    table = dataset.to_table(
        columns=["article_id", "title", "source", "url"],
        filter=pc.field("article_id").isin(pa.array(sorted(ids), pa.string())),
    )
    rows = zip(*(table[c].to_pylist() for c in ("article_id", "title", "source", "url")), strict=True)
    return {a: (t, s, u) for a, t, s, u in rows}


def copies_by_relation(assignments: Iterable[Assignment], ids: set[str]) -> dict[str, int]:
    """How many of the articles `ids` are copies, by their relation to their cluster's original."""
    found = Counter(a.relation for a in assignments if a.article_id in ids and a.relation != ORIGINAL)
    return dict(sorted(found.items()))


def cluster_ids(root: Location) -> set[str]:
    """Every cluster id in `clusters/` now."""
    table = read_dataset(root.child("clusters"), columns=["cluster_id"])
    return set(table["cluster_id"].to_pylist()) if table is not None else set()


def clusters_markdown(title: str, clusters: Sequence[ClusterNews], *, limit: int = TOP_CLUSTERS) -> str:
    """A markdown page: per cluster, the original's title and source, then its members' sources."""
    lines = [f"# {_md(title)}", ""]
    shown = [c for c in clusters if c.size > 1][:limit]
    if not shown:
        lines.append("No cluster of two or more articles was created or grown by this run.")
        return "\n".join(lines) + "\n"
    lines.append(f"The {len(shown)} largest clusters this run created or added to (new members in bold).")
    for c in shown:
        headline = _md(c.original_title or c.original_url or c.original_id)
        state = "new cluster" if c.created else "grown"
        source = _md(c.original_source or "?")
        lines += ["", f"## {headline}", "", f"{c.size} articles ({state}), original from {source}:", ""]
        for member_source, relation, new in c.members:
            text = f"{_md(member_source)}: {relation}"
            lines.append(f"- **{text}**" if new else f"- {text}")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """`text` on one line, with what markdown would read as markup escaped."""
    flat = " ".join(text.split())
    return "".join(f"\\{ch}" if ch in "\\`*_[]<>#|" else ch for ch in flat)


def write_run_report(out: str, report_dir: str | None) -> str | None:
    """Write the HTML report of `out` into `report_dir` when one is set; the path of its index.html.

    A report that cannot be written is logged, never a failed run: the tables are what the run owes.
    """
    if not report_dir:
        return None
    from common.errors import CopydeskError
    from report import write_report

    try:
        return write_report(out, report_dir).index
    except CopydeskError as exc:
        log.warning("no report written into %s: %s", report_dir, exc)
        return None


def publish(
    flow: str,
    summary: RunSummary,
    *,
    description: str,
    extra: Iterable[tuple[str, Any]] = (),
    report: str | None = None,
) -> None:
    """Create the run's artifacts (inside a flow run): the counts table, the clusters page, and a
    link to the HTML report when the run wrote one (`report`, the path of its index.html)."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

    create_table_artifact(
        counts_rows(summary, extra=extra), key=f"copydesk-{flow}-counts", description=description
    )
    page = clusters_markdown(f"Largest new clusters: {description}", summary.top_clusters)
    if report:
        uri = Path(report).as_uri()
        page += f"\nEvery cluster, who copies whom and the errors: [the report]({uri}).\n"
        create_link_artifact(
            uri, link_text="Copydesk report", key=f"copydesk-{flow}-report", description=description
        )
    create_markdown_artifact(page, key=f"copydesk-{flow}-clusters", description=description)
