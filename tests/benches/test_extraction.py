"""The extraction evaluation: scores as the reference gives them; Copydesk at least bare trafilatura."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from benches.extraction import (
    DEFAULT_DATA,
    SECTION,
    evaluate,
    load_pages,
    main,
    page_counts,
    replace_section,
    stated_days,
    summarize,
)

REFERENCE = DEFAULT_DATA.parents[2] / "eval" / "extraction.py"
needs_data = pytest.mark.skipif(
    not (DEFAULT_DATA / "ground-truth.json").exists(), reason="no extraction data"
)


@needs_data
def test_copydesk_is_at_least_bare_trafilatura_on_a_few_pages():
    report = evaluate(load_pages(DEFAULT_DATA, limit=8))
    assert report.copydesk.pages == report.bare.pages == 8
    assert report.copydesk.f1 >= report.bare.f1 > 0.5
    assert report.dated > 0 and report.date_hits == report.dated


@pytest.mark.skipif(not REFERENCE.exists(), reason="no reference scorer")
def test_scores_agree_with_the_reference_scorer():
    spec = importlib.util.spec_from_file_location("reference_extraction", REFERENCE)
    assert spec is not None and spec.loader is not None
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    pairs = [
        ("one two three four five six", "one two three four five six"),
        ("one two three four five six seven", "zero one two three four five"),
        ("alpha beta gamma delta", ""),
        ("", "noise words only here now"),
        ("", ""),
        ("a b c", "a b c d e f g h"),
    ]
    rows = [page_counts(t, p) for t, p in pairs]
    assert rows == [reference.page_counts(t, p) for t, p in pairs]
    ours, theirs = summarize(rows), reference.summary(rows)
    assert (round(ours.precision, 4), round(ours.recall, 4), round(ours.f1, 4)) == (
        theirs["precision"],
        theirs["recall"],
        theirs["f1"],
    )


def test_stated_days_reads_the_markup_not_copydesk():
    jsonld = b'<html><head><script type="application/ld+json">{"@type": "WebPage", "x": {"datePublished": '
    jsonld += b'"2019-11-19T23:30:00-05:00"}}</script></head><body><p>x</p></body></html>'
    assert {str(d) for d in stated_days(jsonld) or ()} == {"2019-11-19", "2019-11-20"}
    bogus = b'<html><head><meta property="article:published_time" content="0001-01-01T00:00:00Z"></head>'
    bogus += b'<body><time datetime="2018-08-13T08:04:08+00:00">Aug 13</time></body></html>'
    assert {str(d) for d in stated_days(bogus) or ()} == {"2018-08-13"}
    assert stated_days(b"<html><body><p>No date here, 2019.</p></body></html>") is None


def test_replace_section_keeps_the_other_sections(tmp_path: Path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\n## Speed (`make bench`)\n\nfast\n\n" + SECTION + "\n\nold\n\n## Last\n\nz\n"
    )
    replace_section(doc, SECTION, SECTION + "\n\nnew\n")
    assert doc.read_text() == (
        "# Benchmarks\n\n## Speed (`make bench`)\n\nfast\n\n" + SECTION + "\n\nnew\n\n## Last\n\nz\n"
    )
    replace_section(doc, "## Added", "## Added\n\nmore\n")
    assert doc.read_text().endswith("## Last\n\nz\n\n## Added\n\nmore\n")
    fresh = tmp_path / "new" / "b.md"
    replace_section(fresh, SECTION, SECTION + "\n\nx\n")
    assert fresh.read_text() == "# Benchmarks\n\n" + SECTION + "\n\nx\n"


def test_absent_data_is_a_skip(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "b.md"
    assert main([str(tmp_path / "nothing"), "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("skip")
    assert not out.exists()
