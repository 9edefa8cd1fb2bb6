"""A copy must not block its original: a syndicated page naming the wire's URL as its canonical
records that URL only when both are on one site."""

from __future__ import annotations

from ingest.plan import plan_batches
from ingest.records import PageRef
from ingest.seen import SeenUrls, same_site, urls_to_record

WIRE = "https://wire.example/2026/03/19/ferry"
PARTNER = "https://partner.example/news/ferry-extended"


def _ref(url: str) -> PageRef:
    return PageRef(url=url, source="x", discovered_from="feed")


def test_a_partner_copy_does_not_block_the_wires_own_item():
    seen = SeenUrls()
    seen.add(urls_to_record(PARTNER, final_url=PARTNER, canonical_url=WIRE))
    batches, skipped = plan_batches([_ref(WIRE)], known_ids=set(), batch_size=10, seen=seen)
    assert skipped == 0 and [r.url for b in batches for r in b] == [WIRE]


def test_a_hostile_page_cannot_suppress_any_url():
    seen = SeenUrls()
    victims = [
        "https://news.example/scoop",
        "http://127.0.0.1:8080/feed-item",
        "https://wire.example/x?utm_source=y",
    ]
    for victim in victims:
        seen.add(urls_to_record("https://evil.example/p", final_url=None, canonical_url=victim))
    assert not any(v in seen for v in victims)


def test_a_same_site_canonical_is_still_recorded():
    amp = "https://amp.herald.example/a/1.amp"
    canonical = "https://www.herald.example/a/1"
    assert same_site(amp, canonical)
    assert canonical in urls_to_record(amp, final_url=None, canonical_url=canonical)
    seen = SeenUrls()
    seen.add(urls_to_record(amp, final_url=None, canonical_url=canonical))
    assert canonical + "?utm_source=rss" in seen


def test_loopback_publishers_are_told_apart_by_path():
    assert not same_site("http://127.0.0.1:8765/wire/a", "http://127.0.0.1:8765/partner/a")
