from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from ingest.errors import NoArticle, NotHtml
from ingest.extract import extract_page
from ingest.records import PageRef, RawPage
from ingest.text import content_hash
from ingest.urls import article_id_for
from tests.ingest.ingest_helpers import STORY, article_html

FETCHED = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
GERMAN = [
    "Der Stadtrat hat am Dienstag beschlossen, den nächtlichen Fährbetrieb zu den nördlichen Inseln um zwei "
    "weitere Jahre zu verlängern. Damit endet eine monatelange Unsicherheit für Pendler und Geschäfte.",
    "Nach Angaben der Verwaltung stieg die Zahl der Fahrgäste im vergangenen Sommer um fast ein Fünftel. "
    "Mehr als viertausend Bewohner der äußeren Dörfer hatten eine Petition unterschrieben.",
]


def page(
    html: str | bytes,
    *,
    url: str = "https://herald.example/2026/03/19/ferry",
    ctype: str | None = "text/html; charset=utf-8",
    ref: PageRef | None = None,
) -> RawPage:
    body = html.encode("utf-8") if isinstance(html, str) else html
    return RawPage(
        ref=ref or PageRef(url=url, source="herald.example", discovered_from="test"),
        final_url=url,
        status=200,
        headers={"content-type": ctype} if ctype else {},
        body=body,
        fetched_at=FETCHED,
        raw_uri="raw://x",
    )


def test_article_fields():
    html = article_html("Ferry service extended", canonical="https://herald.example/ferry-canonical")
    article = extract_page(page(html))
    assert article.title == "Ferry service extended"
    assert article.author == "Jane Doe"
    assert article.site_name == "Harbor Herald"
    assert article.canonical_url == "https://herald.example/ferry-canonical"
    assert article.language == "en"
    assert article.text.startswith("The harbour commission voted")  # headline not repeated in the text
    assert (
        "Opponents argued" in article.text
        and "Contact us" not in article.text
        and "Sport" not in article.text
    )
    assert article.word_count == len(article.text.split()) > 100
    assert article.content_hash == content_hash(article.text)
    assert article.fetched_at == FETCHED
    assert article.raw_uri == "raw://x"
    assert article.source == "herald.example"


def test_jsonld_date_with_zone_becomes_utc():
    article = extract_page(page(article_html("Ferry", published="2026-03-19T11:38:00-05:00")))
    assert article.published_at == datetime(2026, 3, 19, 16, 38, tzinfo=UTC)
    assert article.published_at.tzinfo is UTC


def test_meta_published_time_when_no_jsonld():
    html = article_html("Ferry", published=None).replace(
        "<title>", '<meta property="article:published_time" content="2026-03-18T23:30:00+09:00"><title>'
    )
    assert extract_page(page(html)).published_at == datetime(2026, 3, 18, 14, 30, tzinfo=UTC)


def test_time_element_datetime_is_used():
    html = article_html("Ferry", published=None).replace(
        "<p class='byline'>",
        "<p class='byline'><time class='published' datetime='2026-03-17T08:05:00+01:00'>Mar 17</time>",
    )
    assert extract_page(page(html)).published_at == datetime(2026, 3, 17, 7, 5, tzinfo=UTC)


def test_feed_date_beats_a_page_date_without_zone_and_fills_missing_metadata():
    ref = PageRef(
        url="https://herald.example/a",
        source="herald.example",
        discovered_from="feed",
        title="Feed title",
        published_at=datetime(2026, 3, 19, 16, 38, 12, tzinfo=UTC),
        language="de",
    )
    naive = article_html("Ferry", published="2026-03-19", lang=None)
    article = extract_page(page(naive, ref=ref, url=ref.url))
    assert article.published_at == datetime(2026, 3, 19, 16, 38, 12, tzinfo=UTC)
    assert article.language == "de"  # the page says nothing, the feed does
    bare = "<html><body><article>" + "".join(f"<p>{p}</p>" for p in STORY) + "</article></body></html>"
    article = extract_page(page(bare, ref=ref, url=ref.url))
    assert article.title == "Feed title"
    assert article.published_at == ref.published_at


def test_page_date_without_zone_is_taken_as_utc():
    article = extract_page(page(article_html("Ferry", published="2026-03-19T11:38:00")))
    assert article.published_at == datetime(2026, 3, 19, 11, 38, tzinfo=UTC)


def test_language_is_detected_when_nobody_declares_it():
    article = extract_page(page(article_html("Fährdienst verlängert", GERMAN, lang=None)))
    assert article.language == "de"


def test_windows_1252_declared_in_the_header():
    text = [
        "Le café de la gare a rouvert ses portes lundi après trois mois de travaux, à la grande joie des "
        "habitués qui attendaient leur « petit noir » du matin.",
        "Le propriétaire, qui a investi près de 40 000 € dans la rénovation, promet des croissants frais "
        "chaque jour et une terrasse agrandie dès le printemps prochain, selon la mairie.",
    ]
    body = article_html("Le café", text, lang="fr", charset="windows-1252").encode("cp1252")
    article = extract_page(page(body, ctype="text/html; charset=windows-1252"))
    assert "café" in article.text and "€" in article.text and "«" in article.text
    assert article.extra["charset"] == "cp1252"


def test_charset_from_meta_and_wrong_declarations_do_not_crash():
    cp = article_html("Fähre", GERMAN, lang="de", charset="windows-1252").encode("cp1252")
    assert "Fährbetrieb" in extract_page(page(cp, ctype="text/html")).text  # <meta charset> only
    # declared utf-8, sent windows-1252: falls back instead of failing
    assert "nächtlichen" in extract_page(page(cp, ctype="text/html; charset=utf-8")).text
    # unknown charset name, and undecodable bytes under every clue
    assert extract_page(page(cp, ctype="text/html; charset=x-klingon")).word_count > 30
    broken = article_html("Ferry").encode() + b"\xff\xfe\x81\x8d"
    assert extract_page(page(broken, ctype="text/html; charset=ascii")).word_count > 30


def test_xhtml_with_xml_declaration():
    html = '<?xml version="1.0" encoding="utf-8"?>\n' + article_html("Ferry").replace("<!DOCTYPE html>", "")
    assert extract_page(page(html, ctype="application/xhtml+xml")).title == "Ferry"


def test_not_html():
    with pytest.raises(NotHtml):
        extract_page(page(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, ctype="image/png"))
    with pytest.raises(NotHtml):
        extract_page(page(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, ctype=None))  # sniffed
    with pytest.raises(NotHtml):
        extract_page(page(b"%PDF-1.7 ...", ctype="application/pdf"))
    with pytest.raises(NotHtml):
        extract_page(page(b"just some plain words, no markup at all", ctype=None))


def test_no_article():
    with pytest.raises(NoArticle):
        extract_page(page(b""))
    with pytest.raises(NoArticle):
        extract_page(page("<html><body><nav><a href='/'>Home</a></nav></body></html>"))
    with pytest.raises(NoArticle, match="words"):
        extract_page(page(article_html("Short", ["Only a few words here, not an article."])))


def test_article_id_is_from_the_requested_url_not_the_canonical():
    html = article_html("Ferry", canonical="https://herald.example/canonical")
    a = extract_page(page(html, url="https://herald.example/a?utm=1"))
    b = extract_page(page(html, url="https://mirror.example/a"))
    assert a.article_id == article_id_for("https://herald.example/a?utm=1")
    assert a.article_id != b.article_id
    assert a.canonical_url == b.canonical_url
    assert a.content_hash == b.content_hash  # same text: dedup sees an exact copy


def test_content_hash_ignores_case_and_spacing():
    assert content_hash("The  Ferry\nsails") == content_hash("the ferry sails")
    assert content_hash("the ferry sails") != content_hash("the ferry sank")


def test_cache_reset_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    """A healthy run logs no errors, and the periodic cache reset happens in every long run."""
    import logging

    from ingest.extract import _reset_caches

    with caplog.at_level(logging.DEBUG):
        _reset_caches()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert logging.getLogger("htmldate.meta").level == logging.NOTSET


def test_pages_extracted_in_threads_at_once_come_out_as_one_at_a_time():
    """Each thread parses with its own parser: pages extracted side by side do not mix."""
    pages = [
        page(
            article_html(
                title=f"Ferry story {n}",
                paragraphs=[f"Story {n} paragraph {k}. " + STORY[k % len(STORY)] for k in range(4)],
            ),
            url=f"https://herald.example/2026/03/19/ferry-{n}",
        )
        for n in range(12)
    ]
    one_by_one = [extract_page(p).text for p in pages]
    assert all(f"Story {n} paragraph 3." in text for n, text in enumerate(one_by_one))
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            assert list(pool.map(lambda p: extract_page(p).text, pages)) == one_by_one


def test_a_form_inside_the_story_neither_breaks_nor_leaks_into_the_text():
    fields = (
        '<form action="/s"><label>Your email <input name="e" value="x@y.z"></label>'
        '<select name="k"><option>Daily digest</option></select>'
        '<textarea name="t">Write to the editor here</textarea></form>'
    )
    html = article_html(title="Ferry", paragraphs=[STORY[0], fields, STORY[1]])
    text = extract_page(page(html)).text
    assert STORY[0].split(".")[0] in text and STORY[1].split(".")[0] in text
    assert "Daily digest" not in text and "Write to the editor" not in text
