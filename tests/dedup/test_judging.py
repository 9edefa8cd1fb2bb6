"""The judging rules at their edges, on short texts: copy edits against dropped passages, a rewritten
lede, lines that outweigh what they interrupt, and what a text that holds several others joins.

Stories come from the project's synthetic writer (`planted_corpus`); edits and added passages are
made here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from dedup.engine import deduplicate
from dedup.records import EXPANDED, VERSION, Doc
from tests.corpora.planted import planted_corpus

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def _stories(n: int, seed: int, words: int = 400) -> list[list[str]]:
    docs = planted_corpus(n, copy_rate=0.0, mean_words=words, seed=seed).docs
    return [d.text.split("\n\n") for d in docs]


def _doc(doc_id: str, paras: list[str], hours: float) -> Doc:
    return Doc(doc_id, "\n\n".join(paras), published_at=T0 + timedelta(hours=hours))


def _run(docs: list[Doc]) -> tuple[dict[str, str], dict[str, str], set[tuple[str, str, str]]]:
    result = deduplicate(docs)
    cluster = {a.article_id: a.cluster_id for a in result.assignments}
    relation = {a.article_id: a.relation for a in result.assignments}
    return cluster, relation, {(x.article_id, x.other_id, x.relation) for x in result.links}


def _edit(paragraph: str, every: int) -> str:
    """A copy edit on every `every`-th word (a spelling, a tense): the word changes, the text does not."""
    words = paragraph.split()
    return " ".join(w + "s" if k % every == every - 1 else w for k, w in enumerate(words))


def _long(paras: list[str], n: int) -> list[int]:
    """Indices of the `n` longest paragraphs after the first (the lede stays)."""
    return sorted(sorted(range(1, len(paras)), key=lambda k: -len(paras[k].split()))[:n])


def test_an_expansion_that_copy_edits_what_it_keeps_and_cuts_a_little_is_expanded() -> None:
    story, added = _stories(2, seed=31)
    assert len(story) >= 8
    *edited, cut = _long(story, 3)  # two long paragraphs copy-edited, a third cut
    kept = [_edit(p, 5) if k in edited else p for k, p in enumerate(story) if k != cut]
    cluster, relation, _ = _run([_doc("story", story, 0), _doc("copy", [*kept, *added[:4]], 2)])
    assert cluster["copy"] == cluster["story"] and relation["copy"] == EXPANDED


def test_an_expansion_that_drops_a_quarter_of_the_story_is_a_version() -> None:
    story, added = _stories(2, seed=32)
    words = sum(len(p.split()) for p in story)
    dropped: list[int] = []
    for k in _long(story, len(story)):
        if sum(len(story[i].split()) for i in dropped) >= 0.25 * words:
            break
        dropped.append(k)
    kept = [p for k, p in enumerate(story) if k not in dropped]
    cluster, _, links = _run([_doc("story", story, 0), _doc("update", [*kept, *added[:4]], 2)])
    assert cluster["update"] != cluster["story"] and ("update", "story", VERSION) in links


def test_a_new_lede_on_top_of_a_half_rewritten_old_one_is_a_version() -> None:
    story, new = _stories(2, seed=33)
    lede = story[0].split()
    half = len(lede) // 2
    rewritten = " ".join(new[-1].split()[:half] + lede[half:])
    # An update writes three paragraphs of its own on top of the story's lede, half rewritten, and
    # drops the story's last two paragraphs.
    update = [*new[:3], rewritten, *story[1:-2]]
    cluster, _, links = _run([_doc("story", story, 0), _doc("update", update, 2)])
    assert cluster["update"] != cluster["story"] and ("update", "story", VERSION) in links
    # With one short line on top and the rest kept, the update has too little text of its own for
    # a version, and the story only half a lede: it holds all of the story but that.
    short = [" ".join(new[0].split()[:12]), rewritten, *story[1:]]
    cluster, _, links = _run([_doc("story", story, 0), _doc("update", short, 2)])
    assert cluster["update"] == cluster["story"] and ("update", "story", VERSION) not in links
    # The same text on top of the lede kept whole is an expanded copy (a live page's new entry).
    on_top = [*new[:3], *story]
    cluster, relation, _ = _run([_doc("story", story, 0), _doc("live", on_top, 2)])
    assert cluster["live"] == cluster["story"] and relation["live"] == EXPANDED


def test_short_lines_that_outweigh_the_lines_found_around_them_are_a_text_of_its_own() -> None:
    # Two earnings tables that share three of their figure lines: the rest of each is its own.
    shared = ["Revs 4,357,000 vs 6,494,000", "Year", "Shr profit 22 cts vs profit 10 cts"]
    a = [
        "Shr loss two cts vs profit six cts",
        shared[0],
        "Net loss 103,000 vs profit 319,000",
        "Avg shrs 5,415,185 vs 5,646,185",
        shared[1],
        "Net profit 1,236,000 vs profit 570,000",
        "Avg shrs 5,638,596",
        shared[2],
        "NOTE: 1986 net includes tax credits of 30,400 dlrs in quarter.",
    ]
    b = [
        "Shr loss not given vs profit 16 cts",
        shared[0],
        "Net loss 309,000 vs profit 426,000",
        shared[1],
        "Net profit 713,000 vs profit 2,021,000",
        "Revs 24.9 mln vs 27.1 mln",
        shared[2],
        "NOTE: Pretax net profits 113,000 dlrs vs 824,000 dlrs in quarter and 1,863,000 in year.",
    ]
    cluster, _, _ = _run([_doc("a", a, 0), _doc("b", b, 1)])
    assert cluster["a"] != cluster["b"]


def test_a_write_through_joins_its_story_with_the_preview_of_its_new_top() -> None:
    story, new = _stories(2, seed=34, words=300)
    writethru = [*new[:6], *story]  # more new text on top than the story it keeps
    docs = [
        _doc("story", story, 0),
        _doc("story-copy", story, 1),
        _doc("writethru", writethru, 3),
        # Two outlets copy only the new top: a part of the write-through, not another story.
        _doc("preview", writethru[:4], 4),
        _doc("preview-copy", writethru[:4], 5),
    ]
    cluster, relation, _ = _run(docs)
    assert len(set(cluster.values())) == 1
    assert relation["writethru"] == EXPANDED


def test_a_passage_that_two_unrelated_texts_hold_bridges_neither() -> None:
    a, b, passage = _stories(3, seed=35, words=300)
    s = passage[:2]
    docs = [
        _doc("a", a, 0),
        _doc("a-copy", a, 1),
        _doc("b", b, 0.5),
        _doc("b-copy", b, 1.5),
        _doc("passage", s, 2),
        _doc("a-with-passage", [*a, *s], 3),
        _doc("b-with-passage", [*b, *s], 3.5),
    ]
    cluster, _, _ = _run(docs)
    groups: dict[str, set[str]] = defaultdict(set)
    for article, c in cluster.items():
        groups[c].add(article)
    assert cluster["a-with-passage"] == cluster["a"] != cluster["b"] == cluster["b-with-passage"]
    assert cluster["passage"] not in (cluster["a"], cluster["b"])


def test_an_update_that_kept_a_preview_of_the_story_does_not_join_the_story_through_it() -> None:
    story, new = _stories(2, seed=36, words=450)
    preview = story[:2]
    # Keeps the preview's paragraphs and more of the story, drops its last quarter (of the words),
    # writes its own.
    words = [len(p.split()) for p in story]
    kept = next(k for k in range(len(story), 0, -1) if sum(words[k:]) >= 0.25 * sum(words))
    update = [*story[:2], new[0], *story[2:kept], new[1], new[2]]
    docs = [_doc("story", story, 0), _doc("preview", preview, 1), _doc("update", update, 3)]
    cluster, _, links = _run(docs)
    assert cluster["preview"] == cluster["story"] != cluster["update"]
    assert ("update", "story", VERSION) in links


def test_a_lede_kept_under_copy_edits_below_a_sentence_of_the_copys_own_is_not_a_rewritten_lede() -> None:
    # The copy runs a sentence of its own into the story's lede and copy-edits the lede (one word in
    # nine): its first paragraph is mostly its own, yet most of the story's lede is found in it.
    story, new = _stories(2, seed=35)
    lede = _edit(story[0], 9)
    copy = [f"{' '.join(new[0].split()[: len(lede.split())])} {lede}", *story[1:], *new[1:4]]
    cluster, relation, _ = _run([_doc("story", story, 0), _doc("copy", copy, 2)])
    assert cluster["copy"] == cluster["story"] and relation["copy"] == EXPANDED


def test_a_copy_whose_lede_is_misspelt_past_recognition_is_still_a_copy() -> None:
    # A copy that misspells every other word of the lede (none of its 3-word runs survive) and
    # keeps the rest: its first paragraph stands on top of what it shares, yet it has no text of its
    # own, and a version needs text of its own on both sides.
    story, _ = _stories(2, seed=38)
    copy = [_edit(story[0], 2), *story[1:]]
    cluster, relation, _ = _run([_doc("story", story, 0), _doc("copy", copy, 2)])
    assert cluster["copy"] == cluster["story"] and relation["copy"] != VERSION


def test_a_copy_edited_lede_alone_on_top_with_an_explainer_below_is_an_expanded_copy() -> None:
    # The copy keeps the story whole, its lede misspelt every fourth word (half of the lede's sampled
    # runs survive), and adds an explainer of its own below: the one paragraph above what it
    # shares is partly the story's lede, not a new lede over it.
    story, added = _stories(2, seed=40)
    copy = [_edit(story[0], 4), *story[1:], *added[:5]]
    cluster, relation, _ = _run([_doc("story", story, 0), _doc("copy", copy, 2)])
    assert cluster["copy"] == cluster["story"] and relation["copy"] == EXPANDED


def test_a_digest_that_runs_half_of_a_short_story_does_not_join_it() -> None:
    # A 50-word story of two paragraphs; a digest of briefs runs its first paragraph only. Half of
    # the story is there, whatever the sample of its anchors says: not included, no copy.
    story = [
        "The city's eight largest banks did not borrow from the central bank in the week to Wednesday, "
        "a spokesman for the bank said.",
        "It was the second half of a two-week reporting period that ended on Wednesday, and the banks "
        "did not borrow in the first week either.",
    ]
    briefs, _ = _stories(2, seed=37, words=250)
    digest = ["Business briefs", "Banks skip the window", story[0], "Harvest early", *briefs[:4]]
    cluster, _, links = _run([_doc("digest", digest, 0), _doc("story", story, 1)])
    assert cluster["story"] != cluster["digest"]
    assert not any(rel != VERSION for _, _, rel in links)
    # The same story run whole inside the digest is its copy.
    whole = [*digest[:3], story[1], *digest[3:]]
    cluster, _, _ = _run([_doc("digest", whole, 0), _doc("story", story, 1)])
    assert cluster["story"] == cluster["digest"]
