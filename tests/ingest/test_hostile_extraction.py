"""The extraction chain on the hostile set: no article lost, non-articles refused with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from benches.extraction import EvalPage, evaluate, page_counts
from common.storage import resolve
from ingest.chain import ENOUGH_SHARE
from ingest.errors import NoArticle
from ingest.extract import extract_page
from ingest.records import PageRef, RawPage
from ingest.tables import write_articles
from ingest.text import word_count
from ingest.urls import source_for
from tests.ingest.cases.hostile import SENTENCES, Case, cases, frames_with_noframes, paragraphs
from tests.ingest.ingest_helpers import STORY, article_html


def raw(url: str, html: str) -> RawPage:
    return RawPage(
        ref=PageRef(url=url, source=source_for(url), discovered_from="test"),
        final_url=url,
        status=200,
        headers={"content-type": "text/html"},
        body=html.encode("utf-8"),
        fetched_at=datetime(2026, 3, 20, tzinfo=UTC),
    )


def f1(truth: str, text: str) -> float:
    tp, fp, fn = page_counts(truth, text)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.key)
def test_every_hostile_page_is_kept_or_refused_with_a_reason(case: Case):
    if case.refused:
        with pytest.raises(NoArticle, match=case.refused):
            extract_page(raw(case.url, case.html))
        return
    article = extract_page(raw(case.url, case.html))
    assert f1(case.truth, article.text) >= 0.7, (article.extractor, article.text[:300])
    assert article.extractor in ("fast", "full", "readability", "justext", "jsonld", "block")


def test_the_fast_path_is_enough_for_an_ordinary_article():
    assert extract_page(raw("https://herald.example/a", article_html("Ferry", STORY))).extractor == "fast"


def test_a_story_the_fast_path_misses_comes_from_a_fallback():
    """In <noframes>, trafilatura finds nothing; a later stage of the chain finds the story."""
    case = frames_with_noframes(3)
    article = extract_page(raw(case.url, case.html))
    assert article.extractor not in ("fast", None)
    assert f1(case.truth, article.text) >= 0.8


def test_a_page_rendered_by_script_is_kept_with_its_jsonld_article_body():
    """No text on the page but the articleBody it states: an article, not an empty page."""
    body = "\n\n".join(paragraphs(5, 4))
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Bridge",
        "articleBody": body,
    }
    html = (
        f"<html><head><script type='application/ld+json'>{json.dumps(data)}</script></head>"
        "<body><div id=root></div><script>render()</script></body></html>"
    )
    article = extract_page(raw("https://app.example/bridge", html))
    assert f1(body, article.text) >= 0.95


def test_a_body_in_bare_text_blocks_is_taken_whole():
    """A story of bare text and <br>, one block, is not cut to its first lines (trafilatura drops the
    text before the first <br>; the chain takes what has `ENOUGH_SHARE` of the block)."""
    paras = paragraphs(8, 6)
    html = "<html><body>" + "<br><br>".join(paras) + "<hr><a href=/>Home</a></body></html>"
    article = extract_page(raw("https://old.example/story", html))
    assert word_count(article.text) >= ENOUGH_SHARE * word_count(" ".join(paras))


def test_chinese_and_japanese_text_is_measured_in_words_not_spaces():
    japanese = "先日、不正に改造した携帯電話を販売したとして、男性が逮捕されたというニュースを耳にしました。"
    assert word_count(japanese) >= 20
    assert word_count("one two three") == 3


def test_the_extractor_column_is_written(tmp_path: Path):
    article = extract_page(raw("https://herald.example/a", article_html("Ferry", STORY)))
    write_articles([article], resolve(str(tmp_path)), file_stem="t")
    rows = duckdb.sql(
        f"select extractor from read_parquet('{tmp_path}/articles/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert rows == [("fast",)]


def test_the_evaluation_loses_nothing_on_the_hostile_set_and_reports_stages():
    pages = [EvalPage(c.key, c.url, c.truth, c.html.encode()) for c in cases(1)]
    report = evaluate(pages, name="hostile")
    assert report.lost() == []
    assert report.lost(bare=True)  # bare trafilatura loses the story in <noframes>
    assert report.copydesk.f1 >= report.bare.f1
    stages = report.by_stage()
    assert "fast" in stages and stages["refused"][0] == sum(1 for c in cases(1) if c.refused)
    assert len(report.worst(3)) == 3 and report.worst(3)[0].f1() <= report.worst(3)[-1].f1()
    assert SENTENCES  # the set's text is its own


def test_an_extractor_that_raises_is_passed_over_and_all_raising_is_an_extract_error(
    monkeypatch: pytest.MonkeyPatch,
):
    from ingest import chain
    from ingest.errors import ExtractError

    real = chain._extract

    def fast_breaks(stage: str, *args: object, **kwargs: object) -> str:
        if stage == "fast":
            raise ValueError("a bug on odd markup")
        return real(stage, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(chain, "_extract", fast_breaks)
    article = extract_page(raw("https://herald.example/a", article_html("Ferry", STORY)))
    assert article.extractor == "full" and word_count(article.text) > 100

    def all_break(stage: str, *args: object, **kwargs: object) -> str:
        raise ValueError(f"{stage} broke")

    monkeypatch.setattr(chain, "_extract", all_break)
    # the page's largest block is still there to take...
    assert extract_page(raw("https://herald.example/a", article_html("Ferry", STORY))).extractor == "block"
    # ...and where there is none either, the error says what broke
    with pytest.raises(ExtractError, match="fast broke"):
        extract_page(raw("https://herald.example/b", "<html><body><p>Hello there.</p></body></html>"))
