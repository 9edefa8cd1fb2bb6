"""A backfill day whose pages failed in a way worth retrying is not recorded as done: the next
backfill runs it again and fetches what it lacks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from common.storage import resolve
from flows.backfill import is_done, sources_key
from tests.flows.local_site import Route, Serving, page_html, story

DAY = date(2026, 3, 4)


@pytest.mark.usefixtures("prefect_harness")
def test_a_day_with_pages_to_retry_is_run_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.backfill import backfill

    monkeypatch.setenv("COPYDESK_TASK_RETRIES", "0")
    out = tmp_path / "data"
    with Serving() as site:
        for n in (1, 2):
            site.routes[f"/news/{n}"] = Route(
                page_html(f"Story {n}", story(n), published=f"{DAY}T09:0{n}:00Z")
            )
        site.routes["/news/2"].status = 503  # the second page is down for this run
        urls = tmp_path / "urls.txt"
        urls.write_text(f"{site.url('/news/1')}\n{site.url('/news/2')}\n")
        source = [f"urls:{urls}"]
        first = backfill(source, DAY, DAY, str(out), allow_loopback=True, per_host_delay_s=0.0)
        assert first.days_unfinished == [str(DAY)] and first.days_done == []
        assert first.articles_new == 1 and first.errors_retryable >= 1
        assert not is_done(resolve(str(out)), sources_key(source), DAY)

        site.routes["/news/2"].status = 200
        second = backfill(source, DAY, DAY, str(out), allow_loopback=True, per_host_delay_s=0.0)
        assert second.days_done == [str(DAY)] and second.days_skipped == []
        assert second.articles_new == 1 and second.errors_retryable == 0
        assert is_done(resolve(str(out)), sources_key(source), DAY)
        assert site.hits("/news/1") == ["/news/1"]  # the page already ingested is not fetched again
