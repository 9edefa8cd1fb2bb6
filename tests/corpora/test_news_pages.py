"""The synthetic news pages of the benchmark: page-sized, and their story is what extraction finds."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from ingest.extract import extract_page
from ingest.records import PageRef, RawPage
from tests.corpora.news_pages import news_pages


def test_pages_look_like_news_pages_and_extract_to_their_story():
    pages = news_pages(10, hosts=3, seed=3)
    assert news_pages(10, hosts=3, seed=3) == pages  # deterministic
    assert len(pages) == 10 and len({p.split("/")[1] for p in pages}) == 3
    sizes = [len(body) for body in pages.values()]
    assert min(sizes) >= 20_000 and max(sizes) <= 60_000
    for path, body in pages.items():
        url = f"https://news.example{path}"
        page = RawPage(
            ref=PageRef(url=url, source="news.example", discovered_from="t"),
            final_url=url,
            status=200,
            headers={"content-type": "text/html; charset=utf-8"},
            body=body,
            fetched_at=datetime(2026, 3, 20, tzinfo=UTC),
        )
        article = extract_page(page)
        story = re.findall(r'<p class="article__p" data-index="\d+">(.*?)</p>', body.decode())
        assert story and article.text.split() == html.unescape(" ".join(story)).split()
        assert article.published_at is not None and article.published_at.year == 2026
