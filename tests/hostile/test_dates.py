"""Impossible dates (years 9999 and 0001, a date that is not even a UTC date) are unknown dates,
item by item: they never discard a feed, and never make a later dedup run overflow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.storage import resolve
from dedup.index import DedupIndex
from dedup.records import Doc
from ingest.feeds import parse_feed
from ingest.timeutil import parse_datetime
from tests.hostile.hostile_inputs import STORY

EXTREME = [
    "9999-12-31",
    "9999-12-31T23:00:00-05:00",
    "9999-12-31T23:59:59.999999-23:59",
    "0001-01-01",
    "0001-01-01T00:00:00+14:00",
    "Fri, 31 Dec 9999 23:59:59 -1200",
    "1969-12-31T23:59:59Z",
    "2999-01-01T00:00:00Z",
]


@pytest.mark.parametrize("text", EXTREME)
@pytest.mark.parametrize("plausible", [True, False])
def test_an_impossible_date_is_unknown(text: str, plausible: bool):
    assert parse_datetime(text, plausible=plausible) is None


def test_a_sane_date_is_still_read():
    assert parse_datetime("2026-03-19T11:38:00-05:00") == datetime(2026, 3, 19, 16, 38, tzinfo=UTC)
    assert parse_datetime("2001-01-01", plausible=False) == datetime(2001, 1, 1, tzinfo=UTC)


def test_one_bad_item_does_not_discard_its_feed():
    items = "".join(
        f"<item><title>{i}</title><link>https://wire.example/{i}</link><pubDate>{d}</pubDate></item>"
        for i, d in enumerate(["Thu, 19 Mar 2026 11:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 -1200"])
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>{items}</channel></rss>'
    refs = parse_feed(feed.encode(), url="https://wire.example/rss").refs
    assert [r.published_at is not None for r in refs] == [True, False]


def _doc(i: int, when: datetime | None, *, text: str | None = None) -> Doc:
    return Doc(
        id=f"d{i}",
        text=text or " ".join(STORY) + f" Number {i}.",
        source=f"s{i}.example",
        url=f"https://s{i}.example/{i}",
        published_at=when,
        fetched_at=datetime(2026, 3, 19, tzinfo=UTC),
    )


def test_dedup_updates_survive_dates_at_the_ends_of_the_calendar(tmp_path: Path):
    """The index looks up a window of days around each batch: 9999-12-31 + 30 days overflowed."""
    index = DedupIndex(resolve(str(tmp_path)))
    ends = [datetime(9999, 12, 31, 23, 59, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC)]
    index.update([_doc(0, ends[0]), _doc(1, ends[1])], run_id="first")
    second = index.update([_doc(2, ends[0]), _doc(3, datetime(2026, 3, 19, tzinfo=UTC))], run_id="second")
    third = DedupIndex(resolve(str(tmp_path))).update([_doc(4, ends[1])], run_id="third")
    assert second is not None and third is not None
    clusters = {m for p in tmp_path.joinpath("clusters").rglob("*.parquet") for m in [p.parent.name]}
    assert clusters  # rows were written, dated partitions and all
