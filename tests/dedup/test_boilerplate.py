"""Lines a source repeats across its articles make no two articles alike, and hide no copy."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from common.storage import resolve
from dedup.boilerplate import (
    LineCounts,
    boilerplate_paragraphs,
    bucket_of_lines,
    distinct_lines,
    line_keys,
    source_keys,
    strip_boilerplate,
)
from dedup.engine import deduplicate
from dedup.fingerprint import fingerprint
from dedup.index import DedupIndex
from dedup.params import MatchParams
from dedup.records import EXPANDED, NEAR_DUPLICATE, ORIGINAL, Doc
from tests.corpora.planted import planted_corpus
from tests.dedup.grouping import clusters_of, stored_clusters

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
MATCH = MatchParams()


def _match(min_texts: int) -> MatchParams:
    return replace(MATCH, boilerplate_min_texts=min_texts)


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
    assert clusters_of(result.assignments) == {frozenset({"h0", "l-copy-h0"}), frozenset({"h1", "l-exp-h1"})}
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
    from dedup.params import DedupParams

    docs, _ = _newsroom()
    never = DedupParams(match=replace(MATCH, boilerplate_min_texts=10_000, wire_min_texts=10_000))
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
    flagged = boilerplate_paragraphs(fp, sources, [LineCounts.of(fp, sources, 1)], _match(6))
    assert not flagged.any()
    four = boilerplate_paragraphs(fp, sources, [LineCounts.of(fp, sources, 1)], _match(4))
    assert not four.any()  # 3 distinct herald texts hold the footer; the sourceless ones never count
    three = boilerplate_paragraphs(fp, sources, [LineCounts.of(fp, sources, 1)], _match(3))
    assert three.sum() == len(FOOTER["herald"]) * (len(few) + len(same))


def test_a_text_made_only_of_boilerplate_matches_nothing() -> None:
    stories = _stories(8, seed=44)
    docs = [_doc(f"h{i}", "herald", stories[i], i) for i in range(8)]
    # Empty pages: the footer alone, under three URLs, once with a caption above it. (A page of the
    # footer's last lines alone keeps them: they always follow its first line, so that block is
    # never printed after different paragraphs; the stories still lose the whole footer.)
    footer = "\n\n".join(FOOTER["herald"])
    stubs = [Doc(f"stub{i}", footer, source="herald") for i in range(2)]
    stubs.append(Doc("stub2", "(AP Photo/Jane Doe)\n\n" + footer, source="herald"))
    fp = strip_boilerplate(docs + stubs, fingerprint([d.text for d in docs + stubs]), MatchParams())
    for k in (1, 2, 3):
        assert not fp.content_hashes[-k] and fp.anchor_offsets[-k] == fp.anchor_offsets[-k - 1]
    assert clusters_of(deduplicate(docs + stubs).assignments) == set()


def _live_page(source: str, n: int, hours: int = 0) -> list[Doc]:
    """`n` snapshots of one live page of `source`, each holding the one before with a new entry on
    top, each under the source's footer."""
    entries = _stories(n + 2, seed=47, words=45)
    return [
        _doc(f"{source}-live{k}", source, "\n\n".join(reversed(entries[: k + 3])), hours + k)
        for k in range(n)
    ]


def test_a_live_page_a_source_updates_many_times_stays_one_story() -> None:
    # Its first entries are printed in every snapshot: more than boilerplate_min_texts texts of one
    # source. They always stand between the same neighbours (or at the top of the snapshot that was
    # the newest), so they stay text; the footer under every story of the source does not.
    stories = _stories(8, seed=48)
    docs = [_doc(f"h{i}", "herald", stories[i], i) for i in range(8)] + _live_page("herald", 10, hours=10)
    fp = fingerprint([d.text for d in docs])
    sources = source_keys(docs)
    flagged = boilerplate_paragraphs(fp, sources, [LineCounts.of(fp, sources, 6)], _match(6))
    assert fp.para_offsets is not None
    for i, d in enumerate(docs):
        mask = flagged[fp.para_offsets[i] : fp.para_offsets[i + 1]].tolist()
        footer = len(FOOTER["herald"])
        assert mask[-footer:] == [True] * footer, d.id
        assert not any(mask[:-footer]), d.id
    live = {d.id for d in docs if "-live" in d.id}
    assert clusters_of(deduplicate(docs).assignments) == {frozenset(live)}


def test_the_live_page_batch_by_batch_gives_the_one_pass_clusters(tmp_path: Path) -> None:
    stories = _stories(8, seed=48)
    docs = [_doc(f"h{i}", "herald", stories[i], i) for i in range(8)] + _live_page("herald", 10, hours=10)
    docs.append(Doc("ledger-live", docs[12].text, source="ledger", published_at=T0 + timedelta(hours=30)))
    index = DedupIndex(resolve(str(tmp_path)))
    for k, d in enumerate(docs):  # one snapshot a run: the counts add up over ten segments
        index.update([d], run_id=f"r{k}")
    got = stored_clusters(tmp_path)
    assert got == clusters_of(deduplicate(docs).assignments)
    assert got == {frozenset(d.id for d in docs if "live" in d.id)}


def test_index_strips_what_a_source_repeats_over_the_window(tmp_path: Path) -> None:
    """Batch by batch, once the history holds enough of a source: the same clusters as one pass."""
    docs, _ = _newsroom()
    index = DedupIndex(resolve(str(tmp_path)))
    first, rest = docs[:16], docs[16:]
    index.update(first, run_id="r0")
    for k, d in enumerate(rest):
        index.update([d], run_id=f"r{k + 1}")
    got = stored_clusters(tmp_path)
    assert got == clusters_of(deduplicate(docs).assignments)


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


def test_a_kicker_above_every_lede_and_a_plug_between_paragraphs_are_boilerplate() -> None:
    # Lines of no form dedup.nontext knows: a kicker above every story (the paragraph after it
    # differs), an in-house plug between two paragraphs (both differ), the footer below (the
    # paragraph before it differs). Each is found however long the block it starts or ends.
    kicker = ["Harbor Herald local desk: the towns, the courts and the councils, every morning."]
    plug = "Members of the Herald keep this reporting free: thank you for reading us every week."
    stories = _stories(8, seed=49)
    docs = []
    for i, story in enumerate(stories):
        paras = story.split("\n\n")
        body = "\n\n".join([*kicker, paras[0], plug, *paras[1:]])
        docs.append(_doc(f"h{i}", "herald", body, i))
    fp = fingerprint([d.text for d in docs])
    sources = source_keys(docs)
    flagged = boilerplate_paragraphs(fp, sources, [LineCounts.of(fp, sources, 6)], _match(6))
    assert fp.para_offsets is not None
    for i, d in enumerate(docs):
        paras = d.text.split("\n\n")
        mask = flagged[fp.para_offsets[i] : fp.para_offsets[i + 1]].tolist()
        want = [p in kicker or p == plug or p in FOOTER["herald"] for p in paras]
        assert mask == want, d.id


def test_lines_counted_in_buckets_give_the_boilerplate_of_one_count() -> None:
    # As the distributed stages count them: each bucket of lines (a line with the paragraphs
    # around it) tallied on its own, keeping the lines of enough texts and their surroundings.
    docs = _newsroom()[0] + _live_page("herald", 8, hours=30)
    fp = fingerprint([d.text for d in docs])
    sources = source_keys(docs)
    keys, _ = distinct_lines(fp, sources)
    where = bucket_of_lines(keys, 4)
    merged = LineCounts.merge([LineCounts.tally(keys[where == b], 6) for b in range(4)])
    every = LineCounts.of(fp, sources, 1)
    assert (every.keys[1:] > every.keys[:-1]).all()  # counted group by group, sorted as one
    one = boilerplate_paragraphs(fp, sources, [every], MATCH)
    assert one.any() and (boilerplate_paragraphs(fp, sources, [merged], MATCH) == one).all()
    # Only what can matter is kept: lines of enough texts (their keys have the top bit clear), and
    # the surroundings of those lines.
    lines = merged.keys < np.uint64(1 << 63)
    assert (merged.counts[lines] >= 6).all() and merged.keys.size < LineCounts.of(
        fp, sources, 1
    ).keys.size / 2
