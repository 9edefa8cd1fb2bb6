"""Plain records passed into and out of the dedup stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: Relations of a copy to its cluster's original (docs/architecture.md), plus the two non-copy states.
ORIGINAL = "original"
EXACT = "exact"
NEAR_DUPLICATE = "near_duplicate"
EXPANDED = "expanded"
EXCERPT = "excerpt"
VERSION = "version"
COPY_RELATIONS = (EXACT, NEAR_DUPLICATE, EXPANDED, EXCERPT)
RELATIONS = (ORIGINAL, *COPY_RELATIONS)


@dataclass(slots=True)
class Doc:
    """One text to deduplicate. Only `id` and `text` are required."""

    id: str
    text: str
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    fetched_at: datetime | None = None
    canonical_url: str | None = None
    #: the publisher's priority (a sources file's `priority`); higher wins ties, None counts as 0
    source_priority: int | None = None

    @property
    def is_canonical(self) -> bool:
        """Whether the page names its own URL as canonical (the same page under another URL does not)."""
        return bool(self.url) and self.url == self.canonical_url


@dataclass(slots=True)
class Assignment:
    """An article's current grouping: one row of `clusters/`."""

    article_id: str
    cluster_id: str
    original_id: str
    relation: str
    jaccard: float
    containment: float
    cluster_size: int
    added_text: str | None = None
    kept_fraction: float | None = None
    #: the article this one was matched to: the original, or the copy of it that this one copies
    #: (a later snapshot of a live page, a preview of a write-through); None for originals
    copy_of: str | None = None


@dataclass(slots=True)
class Link:
    """A verified relation between two articles: one row of `links/`.

    `containment_ab` is |A∩B|/|A| (how much of `article_id` is inside `other_id`),
    `containment_ba` the other way round.
    """

    article_id: str
    other_id: str
    relation: str
    jaccard: float
    containment_ab: float
    containment_ba: float


@dataclass(slots=True)
class DedupResult:
    """What one dedup pass decides: a row per article, and the links found."""

    assignments: list[Assignment] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    #: for each expanded copy, the indices of its paragraphs that its `copy_of` has (or that are
    #: boilerplate): the others are its added text, filled in where its text is at hand
    kept_paragraphs: dict[str, list[int]] = field(default_factory=dict)
