"""The demo newsroom: a real server on 127.0.0.1 whose feeds, sitemaps and pages match its manifest."""

from __future__ import annotations

import json
import re
import urllib.robotparser
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from importlib.resources import files
from typing import Any

import defusedxml.ElementTree as SafeET
import feedparser
import httpx
import lxml.html
import pytest
import trafilatura

from flows.demo import DemoNewsroom, corpus

NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ARTICLE_IDS = [p.id for p in corpus.pages() if p.is_article]
CHROME_XPATH = (
    "//nav | //footer | //aside | //*[@id='footer'] | //*[contains(@class, 'related')]"
    " | //*[contains(@class, 'newsletter')] | //*[contains(@class, 'sidebar')]"
)


@pytest.fixture(scope="module")
def site() -> Iterator[DemoNewsroom]:
    with DemoNewsroom() as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


@pytest.fixture(scope="module")
def expected(site: DemoNewsroom) -> dict[str, Any]:
    return site.expected()


@pytest.fixture(scope="module")
def rows(expected: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in expected["pages"]}


@pytest.fixture(scope="module")
def extracted(site: DemoNewsroom, client: httpx.Client, rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """trafilatura's view of every article page, fetched from the running server."""
    result = {}
    for page_id in ARTICLE_IDS:
        url = rows[page_id]["url"]
        document = extract(client.get(url).text, url)
        assert document is not None, page_id
        result[page_id] = document
    return result


def extract(page: str, url: str) -> dict[str, Any] | None:
    """trafilatura 2.3's bare extraction with metadata, as a plain dict."""
    document = trafilatura.bare_extraction(page, with_metadata=True, url=url)
    if document is None or isinstance(document, dict):
        return document
    return document.as_dict()


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def flat(text: str) -> str:
    return " ".join(text.split())


def body(page_id: str) -> str:
    return "\n".join(corpus.page(page_id).text_blocks)


def copies(relation: str) -> list[corpus.Page]:
    return [p for p in corpus.pages() if p.relation == relation]


def test_committed_manifest_equals_a_fresh_generation() -> None:
    fresh = corpus.build_manifest()
    assert corpus.load_manifest() == fresh
    committed = files("flows.demo").joinpath("manifest.json").read_text(encoding="utf-8")
    assert committed == corpus.manifest_text(fresh)


def test_manifest_has_enough_pages_publishers_and_every_relation(expected: dict[str, Any]) -> None:
    articles = [row for row in expected["pages"] if row["relation"]]
    relations = Counter(row["relation"] for row in articles)
    clusters = Counter(row["cluster"] for row in articles)
    assert len(articles) >= 40
    assert len({row["publisher"] for row in articles}) >= 5
    assert set(relations) == set(corpus.RELATIONS)
    assert sum(1 for size in clusters.values() if size == 1) >= 15
    assert expected["summary"]["relations"] == dict(relations)
    assert {p.feed_format for p in corpus.publishers()} == {"rss", "atom"}


def test_wire_story_cluster_spans_publishers_with_exact_and_near_duplicates(expected: dict[str, Any]) -> None:
    members = [row for row in expected["pages"] if row["cluster"] == "wire-port-strike"]
    relations = Counter(row["relation"] for row in members)
    assert relations["original"] == 1 and relations["exact"] >= 1 and relations["near_duplicate"] >= 2
    assert len({row["publisher"] for row in members if row["relation"] != "original"}) >= 3
    assert len({row["title"] for row in members}) == len(members)


def test_bad_cases_cover_every_error_kind(expected: dict[str, Any]) -> None:
    bad = [row for row in expected["pages"] if row["error_kind"]]
    assert {row["error_kind"] for row in bad} == set(corpus.ERROR_KINDS)
    assert {row["content_type"] for row in bad if row["error_kind"] == "not_html"} == {
        "application/pdf",
        "image/png",
    }
    assert all(row["relation"] is None and row["cluster"] is None for row in bad)
    assert {row["error_stage"] for row in bad} == {"fetch", "extract"}


def test_every_page_has_a_recent_fixed_date_and_originals_come_first(expected: dict[str, Any]) -> None:
    by_cluster: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in expected["pages"]:
        published = datetime.fromisoformat(row["published"])
        assert published.isoformat().endswith(corpus.publisher(row["publisher"]).utc_offset)
        assert date(2026, 3, 2) <= published.date() <= date(2026, 3, 6)
        if row["cluster"]:
            by_cluster[row["cluster"]].append(row)
    for members in by_cluster.values():
        (original,) = [m for m in members if m["relation"] == "original"]
        start = datetime.fromisoformat(original["published"])
        for copy in members:
            if copy is original:
                continue
            when = datetime.fromisoformat(copy["published"])
            second_url = copy["canonical_path"] == original["path"]
            assert when > start or (second_url and when == start and copy["relation"] == "exact")


@pytest.mark.parametrize("outlet", corpus.publishers(), ids=lambda p: p.slug)
def test_feed_parses_and_lists_the_manifest_urls(
    outlet: corpus.Publisher, site: DemoNewsroom, client: httpx.Client, expected: dict[str, Any]
) -> None:
    response = client.get(site.url(outlet.feed_path))
    assert response.status_code == 200
    assert outlet.feed_format in response.headers["content-type"]
    feed = feedparser.parse(response.content)
    assert not feed.bozo
    assert feed.version == ("rss20" if outlet.feed_format == "rss" else "atom10")
    want = {r["url"] for r in expected["pages"] if r["publisher"] == outlet.slug and "feed" in r["listed_in"]}
    assert {entry.link for entry in feed.entries} == want
    assert all(entry.title and entry.published_parsed for entry in feed.entries)


@pytest.mark.parametrize("outlet", corpus.publishers(), ids=lambda p: p.slug)
def test_news_sitemap_parses_and_carries_news_fields(
    outlet: corpus.Publisher, site: DemoNewsroom, client: httpx.Client, expected: dict[str, Any]
) -> None:
    root = SafeET.fromstring(client.get(site.url(outlet.sitemap_path)).content)
    assert root.tag == f"{SITEMAP}urlset"
    by_url = {r["url"]: r for r in expected["pages"] if r["publisher"] == outlet.slug}
    locs = set()
    for url in root.iter(f"{SITEMAP}url"):
        loc = url.findtext(f"{SITEMAP}loc")
        news = url.find(f"{NEWS}news")
        assert loc and news is not None
        locs.add(loc)
        assert news.findtext(f"{NEWS}publication/{NEWS}name") == outlet.name
        assert news.findtext(f"{NEWS}publication/{NEWS}language") == "en"
        assert news.findtext(f"{NEWS}title") == by_url[loc]["title"]
        stamp = datetime.fromisoformat(news.findtext(f"{NEWS}publication_date") or "")
        assert stamp == datetime.fromisoformat(by_url[loc]["published"])
    assert locs == {u for u, r in by_url.items() if "sitemap" in r["listed_in"]}


def test_robots_allows_everything_and_names_the_sitemaps(site: DemoNewsroom, client: httpx.Client) -> None:
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(client.get(site.url("/robots.txt")).text.splitlines())
    assert robots.can_fetch("copydesk", site.url("/harbor-herald/news/anything?x=1"))
    assert robots.site_maps() == site.sitemap_urls()


def test_every_manifest_url_answers_as_its_entry_says(client: httpx.Client, expected: dict[str, Any]) -> None:
    for row in expected["pages"]:
        if row["status"] is None:
            error = httpx.ConnectError if row["error_kind"] == "connection" else httpx.InvalidURL
            with pytest.raises(error):
                client.get(row["url"])
            continue
        response = client.get(row["url"])
        assert response.status_code == row["status"], row["id"]
        assert response.headers["content-type"] == row["content_type"], row["id"]
    binary = {
        r["content_type"]: client.get(r["url"]).content
        for r in expected["pages"]
        if r["error_kind"] == "not_html"
    }
    assert binary["application/pdf"].startswith(b"%PDF-") and binary["application/pdf"].endswith(b"%%EOF\n")
    assert binary["image/png"].startswith(b"\x89PNG\r\n\x1a\n")


def test_second_urls_serve_byte_identical_pages(
    client: httpx.Client, rows: dict[str, dict[str, Any]]
) -> None:
    seconds = [p for p in corpus.pages() if p.same_page_as]
    assert {"?" in (p.path or "") for p in seconds} == {True, False}
    for item in seconds:
        assert (
            client.get(rows[item.id]["url"]).content
            == client.get(rows[item.same_page_as or ""]["url"]).content
        )


@pytest.mark.parametrize("page_id", ARTICLE_IDS)
def test_article_page_looks_like_a_news_page(
    page_id: str, client: httpx.Client, rows: dict[str, dict[str, Any]], expected: dict[str, Any]
) -> None:
    row = rows[page_id]
    tree = lxml.html.fromstring(client.get(row["url"]).content)
    assert tree.get("lang") == "en"
    assert tree.xpath("//link[@rel='canonical']/@href") == [row["canonical_url"]]
    assert tree.xpath("//meta[@property='og:title']/@content") == [row["title"]]
    assert tree.xpath("//meta[@property='og:url']/@content") == [row["canonical_url"]]
    assert tree.xpath("//article") and tree.xpath("//nav") and tree.xpath(CHROME_XPATH)
    assert "©" in " ".join(tree.xpath("//footer//text() | //*[@id='footer']//text()"))
    (ld,) = [json.loads(s) for s in tree.xpath("//script[@type='application/ld+json']/text()")]
    outlet = next(p for p in expected["publishers"] if p["slug"] == row["publisher"])
    assert ld["@type"] == "NewsArticle" and ld["headline"] == row["title"]
    assert ld["author"][0]["name"] == row["author"] and ld["publisher"]["name"] == outlet["name"]
    published = datetime.fromisoformat(ld["datePublished"])
    assert published.tzinfo is not None and published == datetime.fromisoformat(row["published"])
    assert "T" in ld["datePublished"]


@pytest.mark.parametrize("page_id", ARTICLE_IDS)
def test_trafilatura_extracts_the_body_and_nothing_else(
    page_id: str, client: httpx.Client, rows: dict[str, dict[str, Any]], extracted: dict[str, Any]
) -> None:
    item, row, document = corpus.page(page_id), rows[page_id], extracted[page_id]
    text = document["text"]
    assert flat(item.body_paragraphs[0]) in flat(text) and flat(item.body_paragraphs[-1]) in flat(text)
    assert (document["title"], document["author"]) == (row["title"], row["author"])
    assert document["date"] == row["published"][:10]
    lines = {line.strip() for line in text.splitlines()}
    tree = lxml.html.fromstring(client.get(row["url"]).content)
    chrome = {flat(t) for el in tree.xpath(CHROME_XPATH) for t in el.itertext() if t.strip()}
    assert chrome
    for snippet in chrome:
        assert snippet not in lines, (page_id, snippet)
        assert len(snippet.split()) < 4 or snippet not in flat(text), (page_id, snippet)
    for other in corpus.related(item):
        assert other.headline not in text


def test_page_without_article_extracts_no_story(client: httpx.Client, expected: dict[str, Any]) -> None:
    (row,) = [r for r in expected["pages"] if r["error_kind"] == "no_article"]
    page = client.get(row["url"]).text
    assert "NewsArticle" not in page
    document = extract(page, row["url"])
    text = document["text"] if document else ""
    assert len(text.split()) < 30  # ingest's minimum article length; the shortest story has 221 words
    assert max(len(line.split()) for line in text.splitlines()) < 8


def test_exact_copies_extract_to_the_same_text(extracted: dict[str, Any]) -> None:
    pairs = [(p.id, p.original) for p in copies("exact")]
    assert pairs
    for copy_id, original_id in pairs:
        assert corpus.page(copy_id).paragraphs == corpus.page(original_id or "").paragraphs
        assert extracted[copy_id]["text"] == extracted[original_id or ""]["text"]


def test_near_duplicates_are_small_edits_of_their_original(extracted: dict[str, Any]) -> None:
    for item in copies("near_duplicate"):
        original = corpus.page(item.original or "")
        assert item.paragraphs != original.paragraphs[: len(item.paragraphs)], "an edit, not only a cut"
        ours, theirs = extracted[item.id]["text"], extracted[original.id]["text"]
        assert ours != theirs
        assert jaccard(ours, theirs) > 0.85


def test_expanded_copy_holds_all_of_its_original_plus_much_more(extracted: dict[str, Any]) -> None:
    (item,) = copies("expanded")
    original = corpus.page(item.original or "")
    assert all(paragraph in item.paragraphs for paragraph in original.paragraphs)
    text = flat(extracted[item.id]["text"])
    assert all(flat(paragraph) in text for paragraph in original.text_blocks)
    assert 2 <= (item.word_count - original.word_count) / original.word_count <= 3


def test_excerpt_is_a_leading_run_of_paragraphs_of_a_long_original(extracted: dict[str, Any]) -> None:
    (item,) = copies("excerpt")
    original = corpus.page(item.original or "")
    assert original.word_count >= 600
    assert item.paragraphs == original.paragraphs[: len(item.paragraphs)]
    assert 0.3 <= len(item.paragraphs) / len(original.paragraphs) <= 0.4
    assert flat(extracted[item.id]["text"]) in flat(extracted[original.id]["text"])


def test_same_event_stories_share_facts_but_not_wording(expected: dict[str, Any]) -> None:
    pair = [r for r in expected["pages"] if r["event"]]
    assert len(pair) == 2 and all(r["relation"] == "original" for r in pair)
    assert pair[0]["cluster"] != pair[1]["cluster"] and pair[0]["publisher"] != pair[1]["publisher"]
    first, second = (body(r["id"]) for r in pair)
    facts = [
        "Bellweather Home",
        "Garnet Street",
        "Rosa Delacroix",
        "Tobias Reed",
        "$4.2 million",
        "1962",
        "11:40 p.m.",
        "120 firefighters",
        "Millbrook",
    ]
    assert all(fact in first and fact in second for fact in facts)
    assert jaccard(first, second) < 0.1


def test_singletons_do_not_resemble_each_other() -> None:
    originals = [p for p in corpus.pages() if p.relation == "original"]
    for i, one in enumerate(originals):
        for other in originals[i + 1 :]:
            assert jaccard(body(one.id), body(other.id)) < 0.05, (one.id, other.id)


def test_publishers_wear_their_own_chrome(client: httpx.Client, rows: dict[str, dict[str, Any]]) -> None:
    wire = [p for p in corpus.pages() if p.cluster == "wire-port-strike"]
    footers = set()
    for item in wire:
        tree = lxml.html.fromstring(client.get(rows[item.id]["url"]).content)
        footers.add(flat(" ".join(tree.xpath("//footer//text() | //*[@id='footer']//text()"))))
    assert len(footers) == len(wire)


def test_servers_take_ephemeral_ports_and_release_them_on_exit() -> None:
    with DemoNewsroom() as one, DemoNewsroom() as two:
        assert one.base_url != two.base_url
        assert httpx.get(one.url("/robots.txt")).status_code == 200
        assert one.sources() == [f"feed:{u}" for u in one.feed_urls()] + [
            f"sitemap:{u}" for u in one.sitemap_urls()
        ]
        assert one.requests_seen() == ["/robots.txt"]
        stopped = one.url("/robots.txt")
    with pytest.raises(httpx.ConnectError):
        httpx.get(stopped)
    with pytest.raises(RuntimeError):
        _ = one.base_url


def test_unknown_paths_answer_404(site: DemoNewsroom, client: httpx.Client) -> None:
    assert client.get(site.url("/harbor-herald/no/such/story")).status_code == 404
    assert client.head(site.url("/robots.txt")).status_code == 200
