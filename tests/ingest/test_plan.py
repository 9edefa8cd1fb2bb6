"""Planning a run without Prefect: which pages to fetch in which batches, which feed state to keep."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.errors import KINDS, ArchiveError, FetchUnavailable, HttpStatusError, NoArticle, is_final_kind
from ingest.failures import error_record
from ingest.plan import is_final, plan_batches, settled_documents
from ingest.records import PageRef
from ingest.seen import SeenUrls
from ingest.state import DocumentState
from ingest.urls import article_id_for


def ref(url: str, **kw: Any) -> PageRef:
    return PageRef(url=url, source="example.org", discovered_from="feed", **kw)


def test_plan_batches_fetches_each_url_once_and_skips_known() -> None:
    when = datetime(2026, 3, 2, tzinfo=UTC)
    refs = [
        ref("https://example.org/a", title="A"),
        ref("HTTPS://Example.org:443/a#comments", published_at=when),  # the same page, from the sitemap
        ref("https://example.org/b"),
        ref("https://example.org/c"),
        ref("https://example.org/d"),
        ref("https://example.org/b"),
    ]
    batches, skipped = plan_batches(refs, known_ids={article_id_for("https://example.org/c")}, batch_size=2)
    assert [[r.url for r in b] for b in batches] == [
        ["https://example.org/a", "https://example.org/b"],
        ["https://example.org/d"],
    ]
    assert skipped == 1
    assert batches[0][0].title == "A" and batches[0][0].published_at == when


def test_plan_batches_of_nothing() -> None:
    assert plan_batches([], known_ids=set(), batch_size=10) == ([], 0)


def test_plan_batches_skips_seen_urls_and_keeps_each_batch_to_one_group() -> None:
    seen = SeenUrls()
    seen.add(["https://example.org/a"])
    refs = [
        ref("https://example.org/a?utm_source=rss"),
        PageRef("https://herald.example/1", "Herald", "feed"),
        ref("https://example.org/b"),
        PageRef("https://herald.example/2", "Herald", "feed"),
        ref("https://example.org/c"),
    ]
    batches, skipped = plan_batches(refs, known_ids=set(), batch_size=5, seen=seen, group=lambda r: r.source)
    assert skipped == 1
    assert [[r.url for r in b] for b in batches] == [
        ["https://herald.example/1", "https://herald.example/2"],
        ["https://example.org/b", "https://example.org/c"],
    ]


def test_feed_state_is_kept_only_for_documents_whose_pages_all_settled() -> None:
    refs = [
        PageRef("https://a.example/1", "a", "https://a.example/feed"),
        PageRef("https://b.example/1", "b", "https://b.example/feed"),
        PageRef("https://c.example/1", "c", "https://c.example/feed"),
    ]
    errors = [
        error_record(
            url="https://a.example/1", source="a", stage="fetch", error=HttpStatusError("404"), run_id="r"
        ),
        error_record(
            url="https://b.example/1", source="b", stage="fetch", error=FetchUnavailable("503"), run_id="r"
        ),
    ]
    updates = {u: DocumentState(u) for u in ("https://a.example/feed", "https://b.example/feed")}
    updates["https://c.example/feed"] = DocumentState("https://c.example/feed")
    kept = settled_documents(updates, refs, errors)
    assert sorted(kept) == ["https://a.example/feed", "https://c.example/feed"]


@pytest.mark.parametrize(
    ("kind", "final"),
    [
        ("HttpStatusError", True),
        ("NoArticle", True),
        ("Refused", True),
        ("BadFeed", True),
        ("DiscoveryError", True),
        ("IngestError", True),
        ("FetchUnavailable", False),  # transient: the page is tried again
        ("ArchiveError", False),  # the store failed, not the page
        ("CancelledError", False),  # a task lost
        ("ValueError", False),  # not one of ingestion's errors
        ("is_final_kind", False),  # a name in ingest.errors that is not an error class
    ],
)
def test_error_kind_is_final_only_for_ingestion_errors_not_worth_retrying(kind: str, final: bool) -> None:
    assert is_final_kind(kind) is final


def test_is_final_reads_the_kind_of_the_row() -> None:
    row = error_record(
        url="https://a.example/1", source="a", stage="extract", error=NoArticle("empty"), run_id="r"
    )
    assert is_final(row)
    row = error_record(
        url="https://a.example/1", source="a", stage="archive", error=ArchiveError("s3"), run_id="r"
    )
    assert not is_final(row)


def test_every_ingestion_error_class_is_a_known_kind() -> None:
    assert KINDS["NoArticle"] is NoArticle and KINDS["FetchUnavailable"] is FetchUnavailable
    assert {
        "IngestError",
        "DiscoveryError",
        "BadFeed",
        "FetchError",
        "HttpStatusError",
        "Refused",
        "NotHtml",
        "ArchiveError",
        "ExtractError",
        "NoArticle",
        "FetchUnavailable",
    } <= set(KINDS)
