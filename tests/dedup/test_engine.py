from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dedup.engine import deduplicate
from dedup.records import EXACT, EXCERPT, EXPANDED, NEAR_DUPLICATE, ORIGINAL, VERSION, Doc
from tests.corpora.planted import planted_corpus

SEED = Path(__file__).resolve().parents[3] / "shared" / "data" / "seed" / "republished-with-explainer.txt"
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def _groups(assignments: list) -> set[frozenset[str]]:
    g: dict[str, set[str]] = defaultdict(set)
    for a in assignments:
        g[a.cluster_id].add(a.article_id)
    return {frozenset(m) for m in g.values()}


def test_planted_clusters_recovered_and_versions_kept_apart() -> None:
    corpus = planted_corpus(400, copy_rate=0.5, seed=3)
    result = deduplicate(corpus.docs)
    by_id = {a.article_id: a for a in result.assignments}
    words = {d.id: len(d.text.split()) for d in corpus.docs}
    assert len(by_id) == len(corpus.docs)
    original = {i: c.split("-")[0] for i, c in corpus.cluster.items()}
    for doc_id, kind in corpus.kind.items():
        mine, theirs = by_id[doc_id], by_id[original[doc_id]]
        if kind == "version":
            # Apart from its story, unless it holds a copy of it whole: then it is that copy's
            # expanded copy (a copy of a copy), which says so.
            assert mine.cluster_id != theirs.cluster_id or (
                mine.relation == EXPANDED and mine.copy_of not in (None, original[doc_id])
            )
        elif kind != "original" and words[doc_id] >= 40:
            assert mine.cluster_id == theirs.cluster_id, (doc_id, kind)
        elif kind != "original":  # too short to call a copy of a story three times as long
            assert mine.cluster_id != theirs.cluster_id or words[original[doc_id]] < 3 * words[doc_id]
    originals = [i for i, k in corpus.kind.items() if k == "original"]
    assert len({by_id[i].cluster_id for i in originals}) == len(originals)  # no two stories joined
    expected = {
        "near_duplicate": NEAR_DUPLICATE,
        "expanded": EXPANDED,
        "excerpt": EXCERPT,
        "original": ORIGINAL,
        "version": ORIGINAL,
    }
    wrong = [i for i, k in corpus.kind.items() if by_id[i].relation != expected[k]]
    assert len(wrong) <= 0.02 * len(corpus.kind)
    version_links = {(x.article_id, x.other_id) for x in result.links if x.relation == VERSION}
    versions = [i for i, k in corpus.kind.items() if k == "version"]
    linked = [i for i in versions if any(i in pair for pair in version_links)]
    assert len(linked) >= 0.9 * len(versions)


def test_order_of_input_does_not_change_clusters() -> None:
    docs = planted_corpus(200, copy_rate=0.6, seed=8).docs
    first = deduplicate(docs)
    shuffled = list(docs)
    random.Random(4).shuffle(shuffled)
    second = deduplicate(shuffled)
    assert _groups(first.assignments) == _groups(second.assignments)
    rel1 = {(a.article_id, a.cluster_id, a.relation) for a in first.assignments}
    rel2 = {(a.article_id, a.cluster_id, a.relation) for a in second.assignments}
    assert rel1 == rel2


STORY = [
    "The harbour authority voted on Tuesday to close the old ferry terminal by the end of the year.",
    "Board members said repairs to the pier would cost more than a new terminal on the north quay.",
    "Ferry operators will move to temporary berths while construction runs through the summer.",
    "Residents who use the early crossing asked for a shuttle bus between the two sites.",
    "The authority said it would publish a timetable for the move within two weeks.",
]


def test_relations_original_exact_near_duplicate_expanded_excerpt() -> None:
    body = "\n\n".join(STORY)
    explainer = "\n\n".join(
        f"Explainer part {i}: what the closure means for commuters, freight and tourism in the region "
        f"over the next {i + 2} months, with answers to frequently asked questions."
        for i in range(6)
    )
    docs = [
        Doc("orig", body, published_at=T0),
        Doc("same", body.upper().replace(".", " !"), published_at=T0 + timedelta(hours=1)),
        Doc("edit", body.replace("Tuesday", "Wednesday"), published_at=T0 + timedelta(hours=2)),
        Doc("more", body + "\n\n" + explainer, published_at=T0 + timedelta(hours=3)),
        Doc("trim", "\n\n".join(STORY[:2]), published_at=T0 + timedelta(hours=4)),
        Doc(
            "other",
            "Commuters face a longer trip next year. The old terminal shuts in December after "
            "a vote by the harbour board, which found a new building cheaper than fixing the pier. "
            "Operators move to temporary berths over the summer.",
            published_at=T0 - timedelta(days=1),
        ),
    ]
    by_id = {a.article_id: a for a in deduplicate(docs).assignments}
    assert {i: by_id[i].original_id for i in ("orig", "same", "edit", "more", "trim")} == dict.fromkeys(
        ("orig", "same", "edit", "more", "trim"), "orig"
    )
    assert [by_id[i].relation for i in ("orig", "same", "edit", "more", "trim")] == [
        ORIGINAL,
        EXACT,
        NEAR_DUPLICATE,
        EXPANDED,
        EXCERPT,
    ]
    assert by_id["more"].added_text is not None and by_id["more"].added_text.startswith("Explainer part 0")
    assert by_id["more"].containment == pytest.approx(1.0, abs=0.05)
    assert by_id["trim"].kept_fraction is not None and 0.2 < by_id["trim"].kept_fraction < 0.6
    assert by_id["other"].cluster_id != by_id["orig"].cluster_id


def test_original_is_earliest_published_then_fetched_then_id() -> None:
    body = "\n\n".join(STORY)
    docs = [
        Doc("b", body, published_at=T0, fetched_at=T0 + timedelta(hours=2)),
        Doc("a", body, published_at=T0, fetched_at=T0 + timedelta(hours=2)),
        Doc("c", body, published_at=T0, fetched_at=T0 + timedelta(hours=1)),
        Doc("d", body, published_at=None, fetched_at=T0 - timedelta(days=3)),
    ]
    result = deduplicate(docs)
    assert {a.original_id for a in result.assignments} == {"c"}
    docs[2].fetched_at = None
    assert {a.original_id for a in deduplicate(docs).assignments} == {"a"}


def test_a_merge_of_two_stories_joins_neither() -> None:
    other = [
        "Farmers in the valley began the apple harvest early after weeks of unusual heat and no rain.",
        "Growers said the fruit was smaller than usual but sweeter, and prices at auction held steady.",
        "The cooperative expects to ship most of the crop to city markets before the end of the month.",
        "Irrigation districts asked members to cut water use by a fifth until the autumn storms arrive.",
    ]
    docs = [
        Doc("ferry", "\n\n".join(STORY), published_at=T0),
        Doc("apples", "\n\n".join(other), published_at=T0 + timedelta(hours=1)),
        Doc("roundup", "\n\n".join(STORY + other), published_at=T0 + timedelta(hours=5)),
    ]
    result = deduplicate(docs)
    clusters = {a.article_id: a.cluster_id for a in result.assignments}
    assert len(set(clusters.values())) == 3
    assert {(x.article_id, x.relation) for x in result.links} == {("roundup", VERSION)}


def test_empty_and_tiny_texts_are_singletons() -> None:
    docs = [Doc("e1", "", published_at=T0), Doc("e2", "  ", published_at=T0), Doc("t", "Hi", published_at=T0)]
    result = deduplicate(docs)
    assert all(a.relation == ORIGINAL and a.cluster_size == 1 for a in result.assignments)


@pytest.mark.skipif(not SEED.exists(), reason="../shared/data/seed not present")
def test_seed_story_and_republished_copy_are_grouped_as_expanded() -> None:
    text = SEED.read_text(encoding="utf-8")
    cut = text.index("\nWhat are the potential consequences when sanctuary city policies obstruct")
    # The story proper: the headline and table of contents aside, everything before the explainer.
    story = text[:cut]
    docs = [Doc("story", story, published_at=T0), Doc("copy", text, published_at=T0 + timedelta(hours=6))]
    by_id = {a.article_id: a for a in deduplicate(docs).assignments}
    assert by_id["copy"].cluster_id == by_id["story"].cluster_id
    assert by_id["copy"].relation == EXPANDED
    assert by_id["copy"].containment >= 0.95
    added = by_id["copy"].added_text or ""
    assert "What are the potential consequences" in added
    assert "Thousands of Criminal Immigrants Released" not in added.split("\n\n")[0]


def test_ads_and_related_lines_inside_a_copy_leave_it_a_near_duplicate() -> None:
    story = planted_corpus(1, copy_rate=0.0, mean_words=250, seed=12).docs[0]
    paras = story.text.split("\n\n")
    assert len(paras) >= 5
    copy = [
        *paras[:2],
        "ADVERTISEMENT",
        *paras[2:4],
        "Related: Council delays vote on harbour budget",
        *paras[4:],
    ]
    assert story.published_at is not None
    docs = [story, Doc("copy", "\n\n".join(copy), published_at=story.published_at + timedelta(days=1))]
    by_id = {a.article_id: a for a in deduplicate(docs).assignments}
    assert by_id["copy"].relation == NEAR_DUPLICATE
    assert by_id["copy"].cluster_id == by_id[story.id].cluster_id


def test_a_short_unmatched_line_between_shared_paragraphs_is_an_interruption() -> None:
    import numpy as np

    from dedup.verify import _paragraph_view, _tally

    # Paragraphs 0 and 2 (three anchors each) are shared; paragraph 1 is a one-anchor ad line.
    paras = np.array([0, 0, 0, 1, 2, 2, 2])
    shared = np.array([0, 1, 2, 4, 5, 6])
    cover, density, found = _paragraph_view(_tally(paras, shared), 0.5, 2)
    assert (cover, density, found.tolist()) == (1.0, 1.0, [0, 2])
    cover, density, _ = _paragraph_view(_tally(paras, shared), 0.5, 0)
    assert cover == density == 6 / 7
    # At the end, or longer than the limit, an unmatched paragraph is text the other lacks.
    tail = np.array([0, 0, 0, 2, 2, 2, 3])
    assert _paragraph_view(_tally(tail, np.array([0, 1, 2, 3, 4, 5])), 0.5, 2)[0] == 6 / 7


def test_priority_breaks_ties_of_published_time_before_canonical_url() -> None:
    from dedup.engine import precedence

    url = "https://wire.example/a"
    docs = [
        Doc("wire", "x", url=url, canonical_url=url, published_at=T0, fetched_at=T0),  # own canonical URL
        Doc("herald", "x", source_priority=10, published_at=T0, fetched_at=T0 + timedelta(hours=1)),
        Doc("old", "x", published_at=T0 - timedelta(minutes=1), fetched_at=T0 + timedelta(hours=2)),
        Doc("plain", "x", source_priority=None, published_at=T0, fetched_at=T0 + timedelta(hours=3)),
        Doc("low", "x", source_priority=-1, published_at=T0, fetched_at=T0 - timedelta(hours=1)),
    ]
    rank = dict(zip([d.id for d in docs], precedence(docs), strict=True))
    # earliest published first whatever its priority; then priority, then canonical URL, then fetched
    assert sorted(rank, key=rank.__getitem__) == ["old", "herald", "wire", "plain", "low"]
    body = "\n\n".join(STORY)
    same_time = [Doc(d.id, body, source_priority=d.source_priority, published_at=T0) for d in docs[:2]]
    assert {a.original_id for a in deduplicate(same_time).assignments} == {"herald"}


def test_an_update_that_cuts_the_story_start_is_linked_not_clustered() -> None:
    story, other = (
        d.text.split("\n\n") for d in planted_corpus(2, copy_rate=0.0, mean_words=450, seed=17).docs
    )
    assert len(story) >= 6 and len(other) >= 4
    t0 = T0 - timedelta(days=1)
    original = Doc("o", "\n\n".join(story), published_at=t0)
    # Drops the first two paragraphs and a middle one, writes new ones between and after: an update.
    update = [story[2], other[0], story[3], other[1], *story[5:], other[2], other[3]]
    # An expanded copy whose explainer is not the update's new text (else the update would be an
    # excerpt of it: a copy of a copy).
    # Drops only a byline-sized first line of the original: still its copy.
    bylined = Doc("b", "\n\n".join(["By Staff Reporter", *story]), published_at=t0 - timedelta(hours=1))
    docs = [
        original,
        Doc("u", "\n\n".join(update), published_at=T0),
        Doc("c", "\n\n".join([*story, *other[4:]]), published_at=T0),
    ]
    result = deduplicate(docs)
    by_id = {a.article_id: a for a in result.assignments}
    assert by_id["u"].cluster_id != by_id["o"].cluster_id
    assert ("u", "o", VERSION) in {(x.article_id, x.other_id, x.relation) for x in result.links}
    assert by_id["c"].relation == EXPANDED and by_id["c"].cluster_id == by_id["o"].cluster_id
    result = deduplicate([bylined, Doc("copy", "\n\n".join(story), published_at=T0)])
    by_id = {a.article_id: a for a in result.assignments}
    assert by_id["copy"].relation == NEAR_DUPLICATE and by_id["copy"].cluster_id == by_id["b"].cluster_id
