"""The pipeline's plain helpers, without Prefect running."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from common.errors import PermanentError, TransientError
from flows.tasks import failure_rows, file_stem, plan_batches, retry_if_transient
from ingest.errors import FetchUnavailable, HttpStatusError
from ingest.records import PageRef
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


def test_file_stem_depends_only_on_the_set_of_keys() -> None:
    assert file_stem("batch", ["b", "a"]) == file_stem("batch", ["a", "b"])
    assert file_stem("batch", ["a"]) != file_stem("batch", ["a", "b"])
    assert file_stem("run", ["a"]).startswith("run-")


def failed(exc: BaseException) -> SimpleNamespace:
    return SimpleNamespace(result=lambda raise_on_failure=True: exc)


def test_retry_only_transient_failures() -> None:
    assert retry_if_transient(None, None, failed(FetchUnavailable("timeout")))
    assert not retry_if_transient(None, None, failed(HttpStatusError("404")))
    assert not retry_if_transient(None, None, failed(ValueError("a bug")))
    wrapped = PermanentError("gave up")
    wrapped.__cause__ = TransientError("net")
    assert not retry_if_transient(None, None, failed(wrapped))
    chained = RuntimeError("store wrapper")
    chained.__cause__ = TransientError("throttled")  # as `raise ... from` sets it
    assert retry_if_transient(None, None, failed(chained))


def test_failure_rows_keep_every_input() -> None:
    rows = failure_rows(
        [("https://example.org/a", "example.org"), ("https://example.org/b", "example.org")],
        "fetch",
        FetchUnavailable("store down"),
        run_id="r1",
    )
    assert [(r.url, r.stage, r.kind, r.run_id) for r in rows] == [
        ("https://example.org/a", "fetch", "FetchUnavailable", "r1"),
        ("https://example.org/b", "fetch", "FetchUnavailable", "r1"),
    ]


def test_retries_back_off_exponentially_and_only_on_transient_errors() -> None:
    from flows.pipeline import retrying
    from flows.settings import Settings
    from flows.tasks import known_articles

    task = retrying(known_articles, Settings(task_retries=3, task_retry_delay_s=2.0))
    assert task.retries == 3 and task.retry_delay_seconds == [2.0, 4.0, 8.0]
    assert task.retry_jitter_factor == 0.2 and task.retry_condition_fn is retry_if_transient
    assert retrying(known_articles, Settings(task_retries=0)).retries == 0


def test_plan_batches_skips_seen_urls_and_keeps_each_batch_to_one_group() -> None:
    from ingest.seen import SeenUrls

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
    from flows.tasks import settled_documents
    from ingest.state import DocumentState

    refs = [
        PageRef("https://a.example/1", "a", "https://a.example/feed"),
        PageRef("https://b.example/1", "b", "https://b.example/feed"),
        PageRef("https://c.example/1", "c", "https://c.example/feed"),
    ]
    errors = [
        *failure_rows([("https://a.example/1", "a")], "fetch", HttpStatusError("404"), run_id="r"),
        *failure_rows([("https://b.example/1", "b")], "fetch", FetchUnavailable("503"), run_id="r"),
    ]
    updates = {u: DocumentState(u) for u in ("https://a.example/feed", "https://b.example/feed")}
    updates["https://c.example/feed"] = DocumentState("https://c.example/feed")
    kept = settled_documents(updates, refs, errors)
    assert sorted(kept) == ["https://a.example/feed", "https://c.example/feed"]
