"""Every page of the real syndication-dev WARC (../shared/data beside the repository) becomes an article."""

from __future__ import annotations

import gzip
import json
import logging
import time
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.extract import extract_page
from ingest.warc import WarcStats, iter_warc

DATA = Path(__file__).parents[2].parent / "shared/data/syndication-dev"
WARC = DATA / "pages.warc.gz"

log = logging.getLogger(__name__)


@pytest.mark.skipif(not WARC.exists(), reason=f"{WARC} not present")
def test_every_syndication_page_becomes_an_article():
    expected = {}
    with gzip.open(DATA / "articles.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            expected[row["url"]] = row
    stats = WarcStats()
    started = time.monotonic()
    failures: list[tuple[str, str]] = []
    articles = []
    for page in iter_warc(str(WARC), stats=stats):
        try:
            articles.append(extract_page(page))
        except IngestError as exc:
            failures.append((page.ref.url, repr(exc)))
    elapsed = time.monotonic() - started
    log.info("%d records -> %d articles in %.1f s", stats.records, len(articles), elapsed)

    assert failures == []
    assert stats.records == stats.pages == len(articles) == 2668
    assert {a.url for a in articles} == set(expected)
    assert len({a.article_id for a in articles}) == 2668
    for a in articles:
        row = expected[a.url]
        assert a.published_at is not None and a.published_at.isoformat() == row["published_at"]
        assert a.source == row["source"]
        # the body text is the publisher's, word for word (trafilatura drops a trailing copyright line)
        assert " ".join(row["text"].split()).startswith(" ".join(a.text.split()))
        assert a.word_count >= len(row["text"].split()) - 8
