"""What a run did, as plain records: the flow's result, the command line's table, the artifacts' data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class ClusterNews:
    """A cluster a run created or added articles to."""

    cluster_id: str
    size: int
    created: bool
    original_id: str
    original_title: str | None = None
    original_source: str | None = None
    original_url: str | None = None
    #: (source, relation, whether this run added it), the original first
    members: list[tuple[str, str, bool]] = field(default_factory=list)


@dataclass(slots=True)
class RunSummary:
    """What a pipeline run (or a backfill, summed over its days) did.

    `busy` is set, and nothing else, when the run could not take the output root's lease.
    """

    run_id: str
    out: str
    sources: int = 0
    pages_fetched: int = 0
    pages_skipped: int = 0
    #: feeds and sitemaps not read again: unchanged since the last run (304, or the same body)
    documents_unchanged: int = 0
    articles_new: int = 0
    articles_total: int = 0
    clusters: int = 0
    clusters_new: int = 0
    copies_by_relation: dict[str, int] = field(default_factory=dict)
    copies_new: dict[str, int] = field(default_factory=dict)
    links: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    errors_new: int = 0
    #: error rows of this run worth trying again (timeouts, 5xx, a task lost): the inputs left to do
    errors_retryable: int = 0
    seconds: float = 0.0
    top_clusters: list[ClusterNews] = field(default_factory=list)
    busy: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def add(self, part: RunSummary, *, top: int = 10) -> None:
        """Add a later part (a backfill's day): counts summed, totals and clusters the latest."""
        self.pages_fetched += part.pages_fetched
        self.pages_skipped += part.pages_skipped
        self.documents_unchanged += part.documents_unchanged
        self.articles_new += part.articles_new
        self.clusters_new += part.clusters_new
        self.errors_new += part.errors_new
        self.errors_retryable += part.errors_retryable
        self.copies_new = _add(self.copies_new, part.copies_new)
        self.errors_by_kind = _add(self.errors_by_kind, part.errors_by_kind)
        self.articles_total, self.clusters, self.links = part.articles_total, part.clusters, part.links
        self.copies_by_relation = dict(part.copies_by_relation)
        self.top_clusters = merge_news([self.top_clusters, part.top_clusters], limit=top)


def counts_rows(summary: RunSummary, *, extra: Iterable[tuple[str, Any]] = ()) -> list[dict[str, Any]]:
    """Rows of the counts table: one ``{"count": name, "value": n}`` per figure."""
    rows: list[tuple[str, Any]] = [
        *extra,
        ("pages fetched or read", summary.pages_fetched),
        ("pages skipped (already in articles/)", summary.pages_skipped),
        ("new articles", summary.articles_new),
        ("articles in total", summary.articles_total),
        ("new clusters", summary.clusters_new),
        ("clusters in total", summary.clusters),
        ("new copies", sum(summary.copies_new.values())),
        *((f"new copies: {rel}", n) for rel, n in sorted(summary.copies_new.items())),
        ("links in total", summary.links),
        ("errors this run", sum(summary.errors_by_kind.values())),
        *((f"errors: {kind}", n) for kind, n in sorted(summary.errors_by_kind.items())),
        ("seconds", summary.seconds),
    ]
    return [{"count": name, "value": value} for name, value in rows]


def merge_news(groups: Iterable[Iterable[ClusterNews]], *, limit: int = 10) -> list[ClusterNews]:
    """The largest clusters of several runs (or days), each once in its latest state."""
    latest: dict[str, ClusterNews] = {}
    for group in groups:
        for c in group:
            earlier = latest.get(c.cluster_id)
            if earlier is not None and earlier.created:
                c.created = True  # created within the backfill, grown later in it
            latest[c.cluster_id] = c
    return sorted(latest.values(), key=lambda c: (-c.size, c.cluster_id))[:limit]


def _add(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    out = Counter(a)
    out.update(b)
    return dict(sorted(out.items()))


@dataclass(slots=True)
class BackfillSummary(RunSummary):
    """A backfill: its days' counts summed, and which days it did or found done already."""

    start: str = ""
    end: str = ""
    days_done: list[str] = field(default_factory=list)
    days_skipped: list[str] = field(default_factory=list)
    #: days that ran but left pages failed in a way worth retrying: not recorded as done
    days_unfinished: list[str] = field(default_factory=list)
