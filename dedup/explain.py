"""Why two articles are, or are not, grouped: what `copydesk explain A B` prints.

It runs the same stages as a dedup pass over the table the two articles come from (boilerplate is
learned over all of it, as a pass learns it), then compares the two with the same functions the
verify stage uses, and says:

- how much of each text is found in the other (containment of the anchors, and the share in
  paragraphs found), and how long each is once boilerplate and non-text lines are left out;
- their paragraphs, marked shared, own, boilerplate (of the source), wire line (a line that many
  sources print under different stories: dedup.boilerplate), or not text (captions, credits, link
  and licence lines: dedup.nontext);
- the relation of the pair and the rule that decided it (dedup.verify.decide);
- whether they are in one cluster, and through which article (`copy_of`) each was matched: from a
  stored `clusters/` table when one is given, else from grouping the table now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from dedup.boilerplate import boilerplate_kinds, strip
from dedup.engine import group, precedence
from dedup.errors import InputError
from dedup.fingerprint import fingerprint
from dedup.nontext import nontext_paragraphs
from dedup.params import DedupParams
from dedup.records import Doc
from dedup.text import paragraphs
from dedup.verify import PairFeatures, decide, features

SHARED, OWN, BOILERPLATE, WIRE_LINE, NOT_TEXT = "shared", "own", "boilerplate", "wire line", "not text"


@dataclass(slots=True)
class Side:
    """One of the two articles as the comparison sees it."""

    id: str
    words: float  # estimated, boilerplate and non-text aside
    inside: float  # share of it found in the other
    containment: float  # share of its anchors in the other
    in_found_paragraphs: float  # share of its anchors in paragraphs found in the other
    paragraphs: list[tuple[str, str]] = field(default_factory=list)  # (mark, paragraph)


@dataclass(slots=True)
class Grouping:
    """Where an article stands in `clusters/`."""

    cluster_id: str
    relation: str
    copy_of: str | None


@dataclass(slots=True)
class Explanation:
    later: Side  # the copy under test (the later by precedence)
    earlier: Side
    relation: str | None
    rule: str
    grouping: dict[str, Grouping]


_RULES = {
    "same_text": "the same normalised text: `exact`",
    "too_short": "the shorter text has fewer than {short_words} words and the other is {short_ratio:g} "
    "times as long or more: too short to call a copy (distinct)",
    "both_inside": "each text is included in the other: `near_duplicate`",
    "holds": "at least {holds_inside:.0%} of the earlier text is found in the later one, whose own text "
    "stands above or below what it shares (three-word runs lose about three per copy-edited word: "
    "that is about 80% of the text): the later is `expanded`",
    "holds_interleaved": "the later text writes its own paragraphs between the ones it shares, and "
    "still holds at least {interleaved_inside:.0%} of the earlier: `expanded`",
    "inside": "at least {holds_inside:.0%} of the later text is found in the earlier, longer one, whose "
    "own text stands above or below it: `excerpt`",
    "inside_interleaved": "the earlier text writes its own paragraphs between the ones it shares, and "
    "at least {interleaved_inside:.0%} of the later is found in it: `excerpt`",
    "core": "neither is included (needs {holds_inside:.0%}), but at least {version_min:.0%} of one is "
    "found in the other and both have text of their own: `version` (linked, never clustered)",
    "core_interleaved": "their own paragraphs are interleaved with the shared ones, so inclusion needs "
    "{interleaved_inside:.0%}, which neither reaches; at least {version_min:.0%} of one is in the other: "
    "`version` (linked, never clustered)",
    "core_head": "one text puts its own text on top of the other's lede, of which less than "
    "{head_kept:.0%} is found in it: a rewritten lede; at least {version_min:.0%} of one is in the "
    "other: `version` (linked, never clustered)",
    "little_shared": "less than {version_min:.0%} of either is found in the other: distinct",
}


def explain(
    docs: Sequence[Doc],
    a_id: str,
    b_id: str,
    params: DedupParams | None = None,
    grouping: Mapping[str, Grouping] | None = None,
) -> Explanation:
    """Compare articles `a_id` and `b_id` of `docs`, as a dedup pass over `docs` does.

    Raises:
        InputError: either id is not in `docs`.
    """
    params = params or DedupParams()
    row = {d.id: i for i, d in enumerate(docs)}
    for wanted in (a_id, b_id):
        if wanted not in row:
            raise InputError(f"no article with id {wanted!r} in the input")
    fp = fingerprint([d.text for d in docs], params.minhash)
    of_source, under_stories = boilerplate_kinds(docs, fp, params.match)
    fp = strip(fp, of_source | under_stories, in_place=True)
    rank = precedence(docs)
    a, o = (row[a_id], row[b_id]) if rank[row[a_id]] > rank[row[b_id]] else (row[b_id], row[a_id])
    f = features(fp, a, o, params)
    relation, rule = decide(f, params)
    if grouping is None:
        result = group(docs, fp, params)
        grouping = {
            x.article_id: Grouping(x.cluster_id, x.relation, x.copy_of)
            for x in result.assignments
            if x.article_id in (a_id, b_id)
        }
    offsets = fp.para_offsets
    assert offsets is not None

    def wire(i: int) -> set[int]:
        only = under_stories[offsets[i] : offsets[i + 1]] & ~of_source[offsets[i] : offsets[i + 1]]
        return set(np.flatnonzero(only).tolist())

    return Explanation(
        later=_side(docs[a], f, True, wire(a)),
        earlier=_side(docs[o], f, False, wire(o)),
        relation=relation,
        rule=_RULES[rule].format(**_params_dict(params)),
        grouping={k: v for k, v in grouping.items() if k in (a_id, b_id)},
    )


def _params_dict(params: DedupParams) -> dict[str, float]:
    m = params.match
    return {
        "short_words": m.short_words,
        "short_ratio": m.short_ratio,
        "inside": m.inside,
        "holds_inside": m.holds_inside,
        "head_kept": m.head_kept,
        "interleaved_inside": m.interleaved_inside,
        "version_min": m.version_min,
    }


def _side(doc: Doc, f: PairFeatures, is_a: bool, wire: set[int]) -> Side:
    found = set((f.found_a if is_a else f.found_o).tolist())
    boiler = set((f.boiler_a if is_a else f.boiler_o).tolist())
    junk = set(nontext_paragraphs(doc.text))
    marked: list[tuple[str, str]] = []
    for k, p in enumerate(paragraphs(doc.text)):
        if not p:
            continue
        if k in boiler:
            mark = WIRE_LINE if k in wire else BOILERPLATE
        else:
            mark = NOT_TEXT if k in junk else SHARED if k in found else OWN
        marked.append((mark, p))
    return Side(
        id=doc.id,
        words=f.words_a if is_a else f.words_o,
        inside=f.inside_a if is_a else f.inside_o,
        containment=f.contain_a if is_a else f.contain_o,
        in_found_paragraphs=f.cover_a if is_a else f.cover_o,
        paragraphs=marked,
    )


def render(e: Explanation, *, width: int = 100) -> str:
    """The explanation as plain text."""
    out = [f"{e.later.id} (later) and {e.earlier.id} (earlier)", ""]
    for s in (e.later, e.earlier):
        out.append(
            f"  {s.id}: about {s.words:.0f} words of text; {s.inside:.0%} of it found in the other "
            f"(anchors {s.containment:.0%}, in found paragraphs {s.in_found_paragraphs:.0%})"
        )
    out += ["", f"Relation: {e.relation or 'none (distinct)'}", f"Rule: {e.rule}", ""]
    a, b = e.grouping.get(e.later.id), e.grouping.get(e.earlier.id)
    if a is not None and b is not None:
        together = a.cluster_id == b.cluster_id
        out.append(f"Grouped: {'yes, cluster ' + a.cluster_id if together else 'no'}")
        for s, g in ((e.later, a), (e.earlier, b)):
            via = f", matched to {g.copy_of}" if g.copy_of else ""
            out.append(f"  {s.id}: cluster {g.cluster_id}, {g.relation}{via}")
        out.append("")
    for s in (e.later, e.earlier):
        out.append(f"Paragraphs of {s.id}:")
        for mark, p in s.paragraphs:
            text = p if len(p) <= width else p[: width - 3] + "..."
            out.append(f"  [{mark:>11}] {text}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
