"""Lines a source repeats across its articles make no two articles alike, and hide no copy."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common.storage import resolve
from dedup.boilerplate import LineCounts, boilerplate_paragraphs, line_keys, source_keys, strip_boilerplate
from dedup.engine import deduplicate
from dedup.fingerprint import fingerprint
from dedup.index import DedupIndex
from dedup.records import EXPANDED, NEAR_DUPLICATE, ORIGINAL, Doc
from tests.corpora.planted import planted_corpus

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)

FOOTER = {
    "herald": [
        "About the Harbor Herald: we are an independent newsroom covering the harbour towns, their councils, "
        "courts, schools and businesses since 1921, funded by our readers and members.",
        # Lines of no form that dedup.nontext knows: only counting them across the source finds them.
        "The Herald morning briefing brings the day's local stories to your inbox before seven each day.",
        "Harbor Herald Media Group owns this newspaper. Reproduction of its stories without permission is "
        "prohibited.",
    ],
    "ledger": [
        "The Valley Ledger is supported by readers like you. Become a member today and help us keep local "
        "reporting free for everyone in the valley and beyond.",
        "Follow the Ledger on social media for breaking news alerts, weather warnings and traffic updates.",
    ],
}


def _stories(n: int, seed: int, words: int = 60) -> list[str]:
    return [d.text for d in planted_corpus(n, copy_rate=0.0, mean_words=words, seed=seed).docs]


def _doc(doc_id: str, source: str, body: str, hours: int, *, extra: list[str] | None = None) -> Doc:
    paras = [*body.split("\n\n"), *(extra or []), *FOOTER[source]]
    return Doc(doc_id, "\n\n".join(paras), source=source, published_at=T0 + timedelta(hours=hours))


def _clusters(assignments: list) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for a in assignments:
        groups[a.cluster_id].add(a.article_id)
    return {frozenset(m) for m in groups.values() if len(m) > 1}


def _newsroom() -> tuple[list[Doc], dict[str, str]]:
    """Short stories of two sources, each under its source's long footer, and copies across them."""
    stories = _stories(16, seed=41)
    docs = [_doc(f"h{i}", "herald", stories[i], i) for i in range(8)]
    docs += [_doc(f"l{i}", "ledger", stories[8 + i], i) for i in range(8)]
    # The Ledger republishes Herald story 0 whole, and story 1 with an explainer of its own.
    explainer = _stories(1, seed=42, words=120)[0]
    docs.append(_doc("l-copy-h0", "ledger", stories[0], 20))
    docs.append(_doc("l-exp-h1", "ledger", stories[1], 21, extra=explainer.split("\n\n")))
    return docs, {"explainer": explainer}


def test_footers_a_source_repeats_make_no_two_of_its_articles_alike() -> None:
    docs, _ = _newsroom()
    result = deduplicate(docs)
    assert _clusters(result.assignments) == {frozenset({"h0", "l-copy-h0"}), frozenset({"h1", "l-exp-h1"})}
    assert {(x.article_id, x.other_id) for x in result.links} == {("l-copy-h0", "h0"), ("l-exp-h1", "h1")}


def test_copies_across_sources_are_judged_without_either_footer() -> None:
    docs, extra = _newsroom()
    by_id = {a.article_id: a for a in deduplicate(docs).assignments}
    assert by_id["h0"].relation == ORIGINAL
    assert by_id["l-copy-h0"].relation == NEAR_DUPLICATE
    assert by_id["l-exp-h1"].relation == EXPANDED
    added = by_id["l-exp-h1"].added_text or ""
    assert added.split() == extra["explainer"].split()  # the explainer, not the Ledger's footer


def test_without_boilerplate_stripping_the_footers_join_unrelated_stories() -> None:
    """The case the stripping exists for: the same corpus, a threshold no source reaches."""
    from dataclasses import replace

    from dedup.params import DedupParams, MatchParams

    docs, _ = _newsroom()
    never = DedupParams(match=replace(MatchParams(), boilerplate_min_texts=10_000))
    result = deduplicate(docs, never)
    same_source = [x for x in result.links if x.article_id[0] == x.other_id[0] == "h"]
    assert len(same_source) > 10  # unrelated Herald stories linked through their footer
    by_id = {a.article_id: a for a in result.assignments}
    # The Ledger's footer is taken for added text, or hides the copy altogether.
    assert by_id["l-copy-h0"].relation in (EXPANDED, ORIGINAL)


def test_boilerplate_needs_enough_different_texts_of_one_source() -> None:
    stories = _stories(6, seed=43)
    few = [_doc(f"h{i}", "herald", stories[i], i) for i in range(3)]
    # The same article under five URLs is one text, not five.
    same = [Doc(f"u{i}", few[0].text, source="herald") for i in range(5)]
    other = [Doc(f"x{i}", _doc("x", "herald", stories[3 + i], 0).text, source=None) for i in range(3)]
    docs = few + same + other
    fp = fingerprint([d.text for d in docs])
    sources = source_keys(docs)
    flagged = boilerplate_paragraphs(fp, sources, [LineCounts.of(fp, sources, 1)], min_texts=6)
    assert not flagged.any()
    four = boilerplate_paragraphs(fp, sources, [LineCounts.of(fp, sources, 1)], min_texts=4)
    assert not four.any()  # 3 distinct herald texts hold the footer; the sourceless ones never count
    three = boilerplate_paragraphs(fp, sources, [LineCounts.of(fp, sources, 1)], min_texts=3)
    assert three.sum() == len(FOOTER["herald"]) * (len(few) + len(same))


def test_a_text_made_only_of_boilerplate_matches_nothing() -> None:
    stories = _stories(8, seed=44)
    docs = [_doc(f"h{i}", "herald", stories[i], i) for i in range(8)]
    stubs = [Doc(f"stub{i}", "\n\n".join(FOOTER["herald"][i % 3 :]), source="herald") for i in range(3)]
    fp = strip_boilerplate(docs + stubs, fingerprint([d.text for d in docs + stubs]), 6)
    assert not fp.content_hashes[-1] and fp.anchor_offsets[-1] == fp.anchor_offsets[-2]
    assert _clusters(deduplicate(docs + stubs).assignments) == set()


def test_index_strips_what_a_source_repeats_over_the_window(tmp_path: Path) -> None:
    """Batch by batch, once the history holds enough of a source: the same clusters as one pass."""
    docs, _ = _newsroom()
    index = DedupIndex(resolve(str(tmp_path)))
    first, rest = docs[:16], docs[16:]
    index.update(first, run_id="r0")
    for k, d in enumerate(rest):
        index.update([d], run_id=f"r{k + 1}")
    clusters = defaultdict(set)
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "clusters")
    for a, c in zip(table["article_id"].to_pylist(), table["cluster_id"].to_pylist(), strict=True):
        clusters[c].add(a)
    got = {frozenset(m) for m in clusters.values() if len(m) > 1}
    assert got == _clusters(deduplicate(docs).assignments)


def test_stored_segments_count_lines_as_the_texts_do(tmp_path: Path) -> None:
    from dedup import lookup
    from dedup.index import clear_cache

    docs, _ = _newsroom()
    DedupIndex(resolve(str(tmp_path))).update(docs, run_id="r0")
    clear_cache()
    (path,) = tmp_path.glob("index/*/lookup/*.lookup")
    seg = lookup.Segment.open(resolve(str(tmp_path)).fs, str(path))
    fp = fingerprint([d.text for d in docs])
    keys, usable = line_keys(fp, source_keys(docs))
    expected = LineCounts.of(fp, source_keys(docs), 1).lookup(keys)
    assert seg.lookup(keys).tolist() == expected.tolist()
    assert expected[usable].max() == 10  # the Ledger's footer: its eight stories and two copies
