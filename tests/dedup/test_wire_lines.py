"""Lines that many outlets print under story after story (a wire's licence, its desk line) are
learned across sources; the stories the outlets run from the wire are not."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from common.storage import resolve
from dedup.boilerplate import LineCounts, boilerplate_paragraphs, bucket_of_lines, distinct_lines, source_keys
from dedup.engine import deduplicate
from dedup.explain import OWN, WIRE_LINE, explain, render
from dedup.fingerprint import fingerprint, para_words
from dedup.index import DedupIndex
from dedup.params import DedupParams, MatchParams
from dedup.records import EXPANDED, Doc
from tests.corpora.planted import planted_corpus
from tests.dedup.grouping import clusters_of, stored_clusters

T0 = datetime(2026, 5, 4, 6, tzinfo=UTC)
MATCH = MatchParams()

# Of no form that dedup.nontext knows (checked below): only counting them across outlets finds them.
WIRE = [
    "Meridian Wire material is licensed to its subscribers for a single edition, and resale or reuse of "
    "this report in any other form is not permitted.",
    "Questions about this report go to the Meridian desk in Denver, which files the service around the "
    "clock.",
]
OUTLETS = [f"o{i}" for i in range(10)]


def _stories(n: int, seed: int, words: int = 120) -> list[str]:
    return [d.text for d in planted_corpus(n, copy_rate=0.0, mean_words=words, seed=seed).docs]


def _footer(outlet: str) -> str:
    # Each outlet's own line: printed by fewer texts than any rule needs.
    return (
        f"Read more local coverage from the {outlet.upper()} Tribune newsroom on our website every morning."
    )


def _doc(doc_id: str, outlet: str, paras: list[str], hours: int) -> Doc:
    return Doc(doc_id, "\n\n".join(paras), source=outlet, published_at=T0 + timedelta(hours=hours))


def _wire_day() -> list[Doc]:
    """Twelve wire stories, each run by four of ten outlets (four stories an outlet, too few for
    its own boilerplate), each under the wire's two lines and the outlet's own; and two stubs of
    outlets: a teaser line above the wire's lines."""
    stories = _stories(12, seed=61)
    docs = []
    for i, outlet in enumerate(OUTLETS):
        for k in range(4):
            s = (i + 3 * k) % 12
            docs.append(
                _doc(f"{outlet}-s{s}", outlet, [*stories[s].split("\n\n"), *WIRE, _footer(outlet)], 2 * s + k)
            )
    docs.append(_doc("o0-stub", "o0", ["Storm warnings issued for the coast tonight.", *WIRE], 40))
    docs.append(_doc("o5-stub", "o5", ["Council budget vote delayed until next week.", *WIRE], 41))
    return docs


def _masks(docs: list[Doc], counts: list | None = None) -> dict[str, list[bool]]:
    fp = fingerprint([d.text for d in docs])
    sources = source_keys(docs)
    flagged = boilerplate_paragraphs(fp, sources, counts or [LineCounts.of(fp, sources, 1)], MATCH)
    assert fp.para_offsets is not None
    return {d.id: flagged[fp.para_offsets[i] : fp.para_offsets[i + 1]].tolist() for i, d in enumerate(docs)}


def test_the_wire_lines_are_of_no_known_form() -> None:
    fp = fingerprint(WIRE)
    assert fp.para_keys is not None and (para_words(fp.para_keys) > 0).all()


def test_lines_many_outlets_print_under_different_stories_are_boilerplate() -> None:
    docs = _wire_day()
    for doc_id, mask in _masks(docs).items():
        n = len(mask)
        # The wire's two lines, wherever they end a text; never the story, the teaser or the
        # outlet's own line (four texts of its source).
        want = [False] * n
        if doc_id.endswith("stub"):
            want[1:3] = [True, True]
        else:
            want[n - 3 : n - 1] = [True, True]
        assert mask == want, doc_id


def test_stubs_sharing_only_the_wire_lines_join_nothing() -> None:
    docs = _wire_day()
    got = clusters_of(deduplicate(docs).assignments)
    runs = defaultdict(set)
    for d in docs:
        if not d.id.endswith("stub"):
            runs[d.id.split("-")[1]].add(d.id)
    assert got == {frozenset(m) for m in runs.values()}
    # What the rule is for: without it the two stubs, mostly the wire's lines, are copies.
    never = DedupParams(match=replace(MATCH, wire_min_texts=10_000))
    without = deduplicate(docs, never)
    assert any("o0-stub" in c and "o5-stub" in c for c in clusters_of(without.assignments))


def _one_story_everywhere() -> tuple[list[Doc], list[str], dict[str, str]]:
    """One wire story of three paragraphs run by twenty outlets under their own lines: six put a
    paragraph of their own before its last, four add an explainer after it, two cut the last
    paragraph; and a two-paragraph wire brief run by twelve of them."""
    story = _stories(1, seed=62, words=200)[0].split("\n\n")
    own = _stories(20, seed=63, words=40)
    brief = _stories(1, seed=64, words=50)[0].split("\n\n")[:2]
    outlets = [f"o{i}" for i in range(20)]
    docs, added = [], {}
    for i, outlet in enumerate(outlets):
        paras = list(story)
        if i < 6:
            paras.insert(len(paras) - 1, own[i])
        elif i < 10:
            paras.append(own[i])
            added[f"{outlet}-story"] = own[i]
        elif i < 12:
            paras = paras[:-1]
        docs.append(_doc(f"{outlet}-story", outlet, [*paras, _footer(outlet)], i))
        if i < 12:
            docs.append(_doc(f"{outlet}-brief", outlet, [*brief, _footer(outlet)], 30 + i))
    return docs, story, added


def test_a_story_the_outlets_all_run_from_the_wire_stays_text() -> None:
    docs, story, _ = _one_story_everywhere()
    assert len(story) >= 3
    for doc_id, mask in _masks(docs).items():
        assert not any(mask), doc_id


def test_a_short_wire_story_under_each_outlets_own_headline_and_summary_stays_text() -> None:
    # Its first paragraphs follow a different line in every outlet, as a licence line follows a
    # different story: the wire's lines are counted only after three paragraphs of text.
    story = _stories(1, seed=65, words=90)[0].split("\n\n")
    heads = [" ".join(s.split()[:6]) + "." for s in _stories(24, seed=66)]
    docs = [
        _doc(f"o{i}-short", f"o{i}", [heads[2 * i], heads[2 * i + 1], *story, _footer(f"o{i}")], i)
        for i in range(12)
    ]
    for doc_id, mask in _masks(docs).items():
        assert not any(mask), doc_id
    assert clusters_of(deduplicate(docs).assignments) == {frozenset(d.id for d in docs)}


def test_a_short_wire_story_that_outlets_run_under_a_story_of_their_own_stays_text() -> None:
    # Ten outlets print it under three paragraphs of their own, each different: its paragraphs
    # follow a different one in each, as a licence line does; but the wire's own text opens with
    # it, so it is a story's lede, not a line printed under stories.
    story = _stories(1, seed=67, words=90)[0].split("\n\n")
    local = _stories(10, seed=68, words=120)
    docs = [_doc("wire", "wire", story, 0)]
    docs += [
        _doc(f"o{i}-local", f"o{i}", [*local[i].split("\n\n")[:3], *story, _footer(f"o{i}")], 1 + i)
        for i in range(10)
    ]
    for doc_id, mask in _masks(docs).items():
        assert not any(mask), doc_id
    result = deduplicate(docs)
    assert clusters_of(result.assignments) == {frozenset(d.id for d in docs)}
    assert {a.relation for a in result.assignments if a.article_id != "wire"} == {EXPANDED}


def test_the_outlets_copies_of_one_wire_story_are_one_cluster_with_their_own_text() -> None:
    docs, _, added = _one_story_everywhere()
    result = deduplicate(docs)
    stories = frozenset(d.id for d in docs if d.id.endswith("story"))
    briefs = frozenset(d.id for d in docs if d.id.endswith("brief"))
    assert clusters_of(result.assignments) == {stories, briefs}
    by_id = {a.article_id: a for a in result.assignments}
    for doc_id, text in added.items():
        assert by_id[doc_id].relation == EXPANDED, doc_id
        assert (by_id[doc_id].added_text or "").split() == text.split()


def test_wire_lines_counted_in_buckets_or_batch_by_batch_are_found_as_in_one_pass(tmp_path: Path) -> None:
    docs = _wire_day()
    fp = fingerprint([d.text for d in docs])
    sources = source_keys(docs)
    # As the distributed stages count them: each bucket of lines tallied on its own.
    keys, _ = distinct_lines(fp, sources)
    where = bucket_of_lines(keys, 4)
    merged = LineCounts.merge(
        [LineCounts.tally(keys[where == b], MATCH.counted_min_texts()) for b in range(4)]
    )
    one = _masks(docs)
    assert any(any(m) for m in one.values())
    assert _masks(docs, [merged]) == one
    # The index, a few texts a run: the counts add up over its segments.
    index = DedupIndex(resolve(str(tmp_path)))
    for k in range(0, len(docs), 5):
        index.update(docs[k : k + 5], run_id=f"r{k}")
    got = stored_clusters(tmp_path)
    assert got == clusters_of(deduplicate(docs).assignments)
    assert not any("stub" in x for m in got for x in m)


def test_a_live_page_that_many_outlets_copy_with_entries_put_between_old_ones_stays_one_chain() -> None:
    # Snapshot k holds every entry of the one before, a new one on top, and from the seventh on
    # entries put between the two oldest: the oldest follows a different entry in later snapshots,
    # as a licence line follows a different story. Each snapshot is printed by another outlet.
    entries = [s.split("\n\n")[0] for s in _stories(16, seed=69, words=45)]
    between = [s.split("\n\n")[0] for s in _stories(3, seed=70, words=45)]
    docs = []
    for k in range(12):
        page = list(reversed(entries[: k + 3]))
        if k >= 5:
            page.insert(len(page) - 1, between[0])
        if k >= 8:
            page.insert(len(page) - 1, between[1])
        docs.append(_doc(f"o{k}-live", f"o{k}", [*page, *WIRE, _footer(f"o{k}")], k))
    assert clusters_of(deduplicate(docs).assignments) == {frozenset(d.id for d in docs)}
    for doc_id, mask in _masks(docs).items():
        assert not any(mask[:-3]), doc_id  # every entry stays text


def test_texts_that_open_with_a_line_count_in_any_part_of_the_texts() -> None:
    # A page that opens with the wire's first line (short, of no source: nothing else of it is
    # counted) makes that line a lede, in a part of the texts counted on its own as in one count.
    docs = [*_wire_day(), Doc("opens", "\n\n".join(WIRE), source=None, published_at=T0)]
    fp = fingerprint([d.text for d in docs])
    sources = source_keys(docs)
    one = boilerplate_paragraphs(fp, sources, [LineCounts.of(fp, sources, 1)], MATCH)
    parts = [fp.take(np.arange(len(docs) - 1)), fp.take(np.array([len(docs) - 1]))]
    counted = [LineCounts.of(p, s, 1) for p, s in zip(parts, (sources[:-1], sources[-1:]), strict=True)]
    assert (boilerplate_paragraphs(fp, sources, counted, MATCH) == one).all()
    assert not one.any()  # a text opens with the block: a lede, not a line under stories


def test_explain_names_the_lines_many_sources_print() -> None:
    docs = _wire_day()
    e = explain(docs, "o0-stub", "o5-stub")
    assert e.relation is None
    for side in (e.later, e.earlier):
        marks = dict((p, m) for m, p in side.paragraphs)
        assert [marks[w] for w in WIRE] == [WIRE_LINE, WIRE_LINE], side.id
        assert OWN in marks.values()  # the teaser
    assert "[  wire line] Meridian Wire material" in render(e)
