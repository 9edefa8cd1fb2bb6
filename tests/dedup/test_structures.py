"""The structures real outlets' copies take, each judged by the rules of dedup/verify.py, on short texts.

Stories come from the project's synthetic writer (`planted_corpus`); captions, credits, licence
lines and link lines are written here as outlets print them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from dedup.engine import deduplicate
from dedup.records import EXACT, EXCERPT, EXPANDED, NEAR_DUPLICATE, ORIGINAL, VERSION, DedupResult, Doc
from tests.corpora.planted import planted_corpus

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
AP_LICENCE = (
    "Copyright 2026 The Associated Press. All rights reserved. This material may not be published, "
    "broadcast, rewritten or redistributed."
)


def _stories(n: int, seed: int, words: int = 300) -> list[list[str]]:
    docs = planted_corpus(n, copy_rate=0.0, mean_words=words, seed=seed).docs
    return [d.text.split("\n\n") for d in docs]


def _doc(doc_id: str, paras: list[str], hours: float, source: str | None = None) -> Doc:
    return Doc(doc_id, "\n\n".join(paras), source=source, published_at=T0 + timedelta(hours=hours))


def _run(docs: list[Doc]) -> tuple[DedupResult, dict[str, str], dict[str, str]]:
    result = deduplicate(docs)
    cluster = {a.article_id: a.cluster_id for a in result.assignments}
    relation = {a.article_id: a.relation for a in result.assignments}
    return result, cluster, relation


def _groups(cluster: dict[str, str]) -> set[frozenset[str]]:
    g: dict[str, set[str]] = defaultdict(set)
    for article, c in cluster.items():
        g[c].add(article)
    return {frozenset(m) for m in g.values() if len(m) > 1}


def test_a_preview_with_a_caption_run_into_its_lede_and_a_more_tail_is_an_excerpt() -> None:
    (story,) = _stories(1, seed=1)
    caption = (
        "A delegate speaks during a news conference in Lisbon, Tuesday, March 3, 2026. (AP Photo/Ana Brito)"
    )
    preview = [f"{caption} {story[0]}", *story[1:4], "More", "Read more at the Daily Ledger"]
    _, cluster, relation = _run([_doc("story", story, 0), _doc("preview", preview, 2)])
    assert cluster["preview"] == cluster["story"] and relation["preview"] == EXCERPT


def test_an_interleaved_expansion_that_keeps_every_paragraph_is_expanded() -> None:
    story, added = _stories(2, seed=2)
    mixed = [story[0], added[0], story[1], story[2], added[1], *story[3:], added[2]]
    _, cluster, relation = _run([_doc("story", story, 0), _doc("writethru", mixed, 3)])
    assert cluster["writethru"] == cluster["story"] and relation["writethru"] == EXPANDED


def test_a_chain_of_live_snapshots_across_outlets_is_one_cluster_each_matched_to_the_one_before() -> None:
    entries = _stories(1, seed=3, words=900)[0]
    assert len(entries) >= 9
    header = ["The Latest on the harbour strike (all times local):"]
    # Each snapshot puts new entries on top and one between the old ones, as live pages do.
    s1 = header + entries[6:9]
    s2 = header + entries[4:6] + entries[6:8] + [entries[3]] + entries[8:9]
    s3 = header + entries[0:3] + entries[4:8] + [entries[3]] + entries[8:9]
    copy = ["From wire services", *s2, AP_LICENCE]
    docs = [_doc("s1", s1, 0, "wire"), _doc("s2", s2, 1, "wire"), _doc("s3", s3, 2, "wire")]
    result, cluster, relation = _run([*docs, _doc("copy", copy, 1.5, "ledger")])
    assert _groups(cluster) == {frozenset({"s1", "s2", "s3", "copy"})}
    by_id = {a.article_id: a for a in result.assignments}
    assert relation["s1"] == ORIGINAL and relation["s2"] == EXPANDED
    # Each member says which article it was matched to, and how it stands to that one.
    honest = {"s1": EXPANDED, "s2": NEAR_DUPLICATE, "s3": EXCERPT}
    assert relation["copy"] == honest[by_id["copy"].copy_of or ""]
    assert by_id["s3"].relation == EXPANDED and by_id["s3"].copy_of in ("s1", "s2", "copy")


def test_a_write_through_family_run_by_several_outlets_stays_one_cluster() -> None:
    story, new = _stories(2, seed=4)
    gen2 = [new[0], *story[:3], new[1], *story[3:]]  # a new lede on top, a paragraph between
    docs = [
        _doc("gen1", story, 0, "wire"),
        _doc("gen2", gen2, 4, "wire"),
        _doc("gen2-herald", ["By Staff and wire reports", *gen2], 5, "herald"),
        _doc("gen2-preview", gen2[:4], 6, "ledger"),  # the new lede and what follows it
        _doc("gen1-ledger", story, 1, "ledger"),
    ]
    result, cluster, _ = _run(docs)
    assert _groups(cluster) == {frozenset(d.id for d in docs)}
    by_id = {a.article_id: a for a in result.assignments}
    assert by_id["gen2-preview"].relation == EXCERPT and by_id["gen2-preview"].copy_of != "gen1"


def test_a_re_paragraphed_copy_is_a_near_duplicate() -> None:
    (story,) = _stories(1, seed=5)
    # Two paragraphs run together, and a copy edit: "said" for "says", a title added.
    merged = [f"{story[0]} {story[1]}", *story[2:]]
    merged[1] = f"Mr. {merged[1]} the minister said."
    split = []
    for p in merged:
        words = p.split()
        split += [" ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2 :])]
    _, cluster, relation = _run([_doc("story", story, 0), _doc("merged", merged, 1), _doc("split", split, 2)])
    assert cluster["merged"] == cluster["split"] == cluster["story"]
    assert relation["merged"] == relation["split"] == NEAR_DUPLICATE


def test_captions_credits_and_link_lines_inside_a_body_are_not_its_text() -> None:
    (story,) = _stories(1, seed=6, words=80)
    captioned = [
        "Photo: Jane Doe, AP",
        "FILE - In this March 2, 2026, file photo, the minister arrives for a meeting in Lisbon.",
        *story[:2],
        "A worker waits for the start of a session in Porto, Monday, March 2, 2026. (Jane Doe/Reuters)",
        "Related: Markets wrap for March 2, 2026",
        *story[2:],
        "Image 1 of 7",
        AP_LICENCE,
    ]
    _, cluster, relation = _run([_doc("story", story, 0), _doc("captioned", captioned, 1)])
    assert cluster["captioned"] == cluster["story"] and relation["captioned"] == NEAR_DUPLICATE


def test_a_story_with_another_wires_paragraph_appended_joins_its_own_story_only() -> None:
    story, other = _stories(2, seed=7)
    appended = [*story, other[1]]
    docs = [_doc("story", story, 0), _doc("other", other, 0.5), _doc("appended", appended, 2)]
    _, cluster, relation = _run(docs)
    assert cluster["appended"] == cluster["story"] != cluster["other"]
    assert relation["appended"] in (NEAR_DUPLICATE, EXPANDED)


def test_a_short_blurb_is_not_a_copy_of_a_long_story_but_two_equal_blurbs_are() -> None:
    (story,) = _stories(1, seed=8, words=400)
    blurb = [" ".join(story[0].split()[:30])]
    docs = [_doc("story", story, 0), _doc("blurb", blurb, 1), _doc("blurb-again", blurb, 2)]
    _, cluster, relation = _run(docs)
    assert cluster["blurb"] != cluster["story"]
    assert cluster["blurb-again"] == cluster["blurb"] and relation["blurb-again"] == EXACT


def test_a_wire_licence_line_that_many_outlets_print_links_no_two_stories() -> None:
    # Short items, so that the licence line is near half of each: left in, it links them all.
    stories = [" ".join(s[0].split()[:25]) for s in _stories(6, seed=9)]
    docs = [_doc(f"s{i}", [s, AP_LICENCE], i, f"outlet{i}") for i, s in enumerate(stories)]
    result, cluster, _ = _run(docs)
    assert _groups(cluster) == set() and result.links == []


def test_a_digest_of_briefs_joins_none_of_the_stories_it_holds() -> None:
    briefs = _stories(4, seed=10, words=90)
    digest = ["The day's top stories"]
    for b in briefs:
        digest += b
    docs = [_doc(f"brief{i}", b, i) for i, b in enumerate(briefs)]
    docs.append(_doc("digest", digest, 10))
    result, cluster, _ = _run(docs)
    assert _groups(cluster) == set()
    assert {x.relation for x in result.links if x.article_id == "digest"} == {VERSION}


def test_stories_that_share_a_quote_stay_apart() -> None:
    a, b = _stories(2, seed=11)
    quote = '"We will not let the ferry service end on our watch," the mayor told reporters on Monday.'
    _, cluster, _ = _run([_doc("a", [*a[:3], quote, *a[3:]], 0), _doc("b", [b[0], quote, *b[1:]], 1)])
    assert cluster["a"] != cluster["b"]


def test_an_update_that_rewrites_the_lede_and_drops_a_third_is_a_version() -> None:
    story, new = _stories(2, seed=12, words=450)
    n = len(story)
    kept = story[1 : n - n // 3]
    update = [new[0], *kept[:2], new[1], *kept[2:], new[2]]
    result, cluster, _ = _run([_doc("story", story, 0), _doc("update", update, 6)])
    assert cluster["update"] != cluster["story"]
    assert ("update", "story", VERSION) in {(x.article_id, x.other_id, x.relation) for x in result.links}


@pytest.mark.parametrize("stamp", [-3.0, 3.0])
def test_a_copy_stamped_before_its_source_is_still_grouped_with_honest_relations(stamp: float) -> None:
    (story,) = _stories(1, seed=13)
    _, cluster, relation = _run([_doc("story", story, 0), _doc("preview", story[:3], stamp)])
    assert cluster["preview"] == cluster["story"]
    # The earliest published is the original; the other says how it stands to it.
    assert relation["preview" if stamp > 0 else "story"] == (EXCERPT if stamp > 0 else EXPANDED)


def test_a_live_page_joins_its_story_with_an_item_it_runs_that_was_posted_alone_before_it() -> None:
    story, entries = _stories(2, seed=41, words=450)
    # One entry, posted alone (stamped before the page that runs it): the shortest of 45 words or more
    # (a text under 40 words is too short to call a copy of a page).
    k_item = min(
        (k for k in range(len(entries)) if len(entries[k].split()) >= 45), key=lambda k: len(entries[k])
    )
    item, rest = [entries[k_item]], entries[:k_item] + entries[k_item + 1 :]
    words = [len(p.split()) for p in rest]
    # New entries of the page's own: the story is a little more than half of the page.
    own = len(" ".join(story).split()) / 0.56 - len(" ".join(story).split()) - len(item[0].split())
    new = rest[: next(k for k in range(1, len(rest)) if sum(words[:k]) >= own)]
    docs = [
        _doc("story", story, 0),
        _doc("story-copy", story, 0.5),
        _doc("item", item, 1),
        _doc("page", [*new, *item, *story], 2),
    ]
    _, cluster, _ = _run(docs)
    # The story is most of the page and nearly all it shares with what it holds: one cluster.
    assert cluster["page"] == cluster["story"] == cluster["story-copy"] == cluster["item"]
    # Two stories of equal weight merged into one text (a digest, a merge) still join neither.
    n_story = len(" ".join(story).split())
    other = rest[: next(k for k in range(1, len(rest)) if sum(words[:k]) >= n_story)]
    _, cluster, _ = _run([*docs[:2], _doc("other", other, 1), _doc("merge", [*story, *other], 2)])
    assert len({cluster["merge"], cluster["story"], cluster["other"]}) == 3
