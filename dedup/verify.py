"""Verify candidate pairs and name their relation (the judging rules of real reprints), from sketches.

Judging from the sketches alone, never from which texts happen to be in memory together, keeps the
decision the same whether a pair meets inside one batch or across runs: order-independence.

For texts A (the later, the copy under test) and O (the earlier):

- *inclusion* of A in O is the share of A's text found anywhere in O, in any order: the larger of
  the plain containment |A∩O|/|A| of their anchors (sampled shingles) and the share of A's anchors
  in paragraphs *found* in O (at least half of the paragraph's anchors are there, so a copy edit
  or two inside a paragraph costs nothing). Where the other text's own material sits (on top,
  between the shared paragraphs, after them) does not matter, nor does how either side breaks its
  paragraphs: a paragraph split or merged by an outlet is still found.
- A is *included* in O when O's own text stands outside what it shares (above or below), at
  least `holds_inside` (about 70%) of A's anchors are found in O, and at most `own_max` (about
  20%) of A's words are in paragraphs O lacks entirely. Anchors are 3-word runs, which lose about
  three per copy-edited word: so about 80% of the text is there, and word-level edits do not break
  inclusion, while whole passages of A's own do. A paragraph is A's own when at most a fifth of its
  anchors are found in O (a copy-edited paragraph keeps more than that).
- Shares of a text ("own", "in found paragraphs") are shares of its words: each paragraph weighs
  its words of text (the fingerprint's paragraph keys count them), so a dropped paragraph that
  happens to hold few sampled anchors still counts at its length. A paragraph without anchors
  (a short line) counts only when the other text has it word for word. The sample alone measures
  the own share of a 40-anchor text to about +-7%; the words, to the paragraph.
- Both included, at least `inside` (about 80%) of each found in the other: `near_duplicate` (or
  `exact`, same normalised text). O included in A, not the other way: A is `expanded`. A included
  in O: A is an `excerpt`.
- A text that writes its own paragraphs between the ones it shares (the found paragraphs do not
  stand together in it) holds the other only when it has `interleaved_inside` (about 90%) of it:
  a write-through that keeps the whole story and inserts paragraphs is an expanded copy, one that
  drops passages and writes between the kept ones is a `version`.
- A text that puts its own text on top of the other's lede (the first paragraph of at least 3
  anchors), of which less than `head_kept` is found, has rewritten the lede: it does not hold the
  other, whatever else it kept (a write-through's new lede), though a text whose new text sits on
  top of the lede kept whole (a live page's new entry) does, and so does one whose first
  paragraph is partly the other's lede (more than a fifth found) while at least `head_edited`
  (about 60%) of that lede is found, or while that paragraph is all it puts on top: a lede kept
  under copy edits, each edited word costing up to three 3-word runs (60% of the runs is some 85%
  of the words), with a sentence of its own run into it, is not a rewritten lede, and a short
  lede holds too few sampled runs to say more than that it is partly there. Nor is it one when
  no more than `own_max` of the text that puts it on top is missing from the other: a version
  needs substantial text of its own on both sides, and a short lede misspelt here and there can
  keep none of its sampled runs.
- Not included either way, but a core of at least `version_min` of one text is in the other: a
  `version` (a write-through, a rewritten lede): linked, never clustered.
- A text of fewer than `short_words` words (of text, counted) set against one `short_ratio` times
  longer or more is too short to call a copy (a video blurb, a caption): no link, unless the two
  texts are the same.
- Short unfound lines between found paragraphs (an ad line, a "Related:" line) interrupt the
  shared passage and count for neither text, unless they outweigh the found paragraphs around
  them: then they are the text's own (a table of other figures that shares three of its lines).

Captions, credits and boilerplate have no anchors (dedup.nontext, dedup.boilerplate): they count
for neither text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dedup.fingerprint import para_words
from dedup.fingerprint_arrays import Fingerprints
from dedup.params import DedupParams, MatchParams
from dedup.records import EXACT, EXCERPT, EXPANDED, NEAR_DUPLICATE, VERSION


@dataclass(slots=True)
class PairFeatures:
    """What the sketches say about texts A and O."""

    jaccard: float
    contain_a: float  # share of A's anchors inside O
    contain_o: float  # share of O's anchors inside A
    cover_a: float  # share of A's anchors in paragraphs found in O
    cover_o: float
    density_a: float  # share of the span of A's found paragraphs that is found: 1 when A's own
    density_o: float  # text stands outside what it shares, lower when it is interleaved
    n_a: int  # anchors of A (boilerplate and non-text aside)
    n_o: int
    words_a: float  # words of text of A (boilerplate and non-text aside; else its anchors over the rate)
    words_o: float
    same_text: bool
    found_a: np.ndarray  # paragraph indices of A found in O
    found_o: np.ndarray
    boiler_a: np.ndarray  # paragraph indices of A stripped as its source's boilerplate
    boiler_o: np.ndarray
    own_a: float = 0.0  # share of A's anchors in paragraphs of which (almost) nothing is found in O
    own_o: float = 0.0
    head_a: float = 1.0  # share of the anchors of A's first paragraph found in O
    head_o: float = 1.0
    top_a: int = 0  # anchors of A before its first paragraph found in O (its own text on top)
    top_o: int = 0
    top_paras_a: int = 0  # paragraphs (with anchors) of A before its first paragraph found in O
    top_paras_o: int = 0

    @property
    def inside_a(self) -> float:
        """Share of A's text found in O."""
        return max(self.contain_a, self.cover_a)

    @property
    def inside_o(self) -> float:
        """Share of O's text found in A."""
        return max(self.contain_o, self.cover_o)


#: One text's counts against the other (`_tally`): the anchors of each of its paragraphs and how
#: many of them the other has, as Python lists. A text has some tens of paragraphs: a pass over
#: lists costs a fraction of the numpy calls on arrays that small, twice a pair.
Counts = tuple[list[int], list[int]]


def _tally(paras: np.ndarray, shared_idx: np.ndarray, size: int = 0) -> Counts:
    """Of one text against the other: the anchors of each of its paragraphs (`paras`, the paragraph
    of each anchor; at least `size` entries) and how many of them the other has (`shared_idx`).
    Every measure of the pair below reads these two counts."""
    total = np.bincount(paras, minlength=size)
    return total.tolist(), np.bincount(paras[shared_idx], minlength=total.size).tolist()


def _paragraph_view(counts: Counts, found_share: float, interruption: int) -> tuple[float, float, np.ndarray]:
    """Coverage (share of anchors in found paragraphs), density (share of the span from the first
    found paragraph to the last that is found) and the found paragraph indices of one text (its
    `_tally`).

    A short paragraph that is not found but stands between found ones (up to `interruption`
    anchors: an "Advertisement" line, a timestamp, a caption the patterns did not know) interrupts
    the shared passage rather than adding to it: it counts neither for nor against the share.
    """
    total, hit = counts
    anchors = sum(total)
    found = [k for k, (t, h) in enumerate(zip(total, hit, strict=True)) if t and h >= found_share * t]
    if not anchors or not found:
        return 0.0, 0.0, np.array(found, dtype=np.int64)
    first, last = found[0], found[-1]
    found_sum = sum(total[k] for k in found)
    span_sum = sum(total[first : last + 1])
    skipped_sum = sum(
        t
        for t, h in zip(total[first + 1 : last], hit[first + 1 : last], strict=True)
        if 0 < t <= interruption and h < found_share * t
    )
    if skipped_sum > found_sum:
        # Lines that outweigh the passages found around them do not interrupt them: they are
        # the text's own (a table of figures of another company, not an ad line).
        skipped_sum = 0
    counted = anchors - skipped_sum
    density = found_sum / (span_sum - skipped_sum)
    return (found_sum / counted if counted else 0.0), density, np.array(found, dtype=np.int64)


#: A text's lede is its first paragraph of at least this many anchors (a dateline, a one-line
#: kicker or a caption the patterns missed is not the lede).
_LEDE_ANCHORS = 3
#: A paragraph of which at most this share of anchors is found in the other is the text's own.
_OWN_FOUND = 0.2


def _own(counts: Counts, found: np.ndarray) -> tuple[float, float, int, int]:
    """Of one text against the other (its `_tally`): the share of its anchors in paragraphs of its
    own (at most `_OWN_FOUND` of their anchors found: not copy-edited, absent), the share of its
    lede found in the other, and how many of its anchors, and of its paragraphs with anchors, stand
    before its first found paragraph (text on top)."""
    total, hit = counts
    anchors = sum(total)
    if anchors == 0:
        return 0.0, 1.0, 0, 0
    own = sum(t for t, h in zip(total, hit, strict=True) if h <= _OWN_FOUND * t) / anchors
    lede = next((k for k, t in enumerate(total) if t >= _LEDE_ANCHORS), None)
    head = hit[lede] / total[lede] if lede is not None else 1.0
    on_top = total[: int(found[0])] if found.size else total
    return own, head, sum(on_top), sum(1 for t in on_top if t)


def _words(fp: Fingerprints, i: int, boiler: np.ndarray) -> tuple[list[int], np.ndarray] | None:
    """(words of text of each paragraph of text i, its `boiler` paragraphs as 0; the paragraph
    keys), or None for fingerprints without paragraph keys."""
    if fp.para_offsets is None or fp.para_keys is None:
        return None
    keys = fp.para_keys[fp.para_offsets[i] : fp.para_offsets[i + 1]]
    weights = para_words(keys)
    weights[boiler] = 0
    return weights.tolist(), keys


def _by_words(
    counts: Counts, words: list[int], keys: np.ndarray, other_keys: np.ndarray, found_share: float
) -> tuple[float, float]:
    """The shares of one text's words in paragraphs of its own and in paragraphs found in the other
    (as `_own` and `_paragraph_view`, weighed by words; `counts` its `_tally`, of at least one
    entry per paragraph).

    A paragraph is known when it has anchors, or when the other text has it word for word (a short
    line can have no anchor): the shares are taken over the known paragraphs, so a short line whose
    anchors say nothing counts for neither side.
    """
    own_words = found_words = known_words = 0
    silent: list[int] = []
    # The counts may run past the paragraphs (a `_tally` of at least one entry each).
    for k, (w, t, h) in enumerate(zip(words, *counts, strict=False)):
        if t:
            known_words += w
            if h <= _OWN_FOUND * t:
                own_words += w
            if h >= found_share * t:
                found_words += w
        elif w:
            silent.append(k)
    if silent:
        held = np.isin(keys[silent], other_keys).tolist()  # the other has the line word for word
        verbatim = sum(words[k] for k, same in zip(silent, held, strict=True) if same)
        known_words += verbatim
        found_words += verbatim
    if not known_words:
        return 0.0, 0.0
    return own_words / known_words, found_words / known_words


def features(fp: Fingerprints, a: int, o: int, params: DedupParams) -> PairFeatures:
    """Compare text `a` with text `o` of the same fingerprint table."""
    anchors_a, paras_a = fp.anchors_of(a)
    anchors_o, paras_o = fp.anchors_of(o)
    _, idx_a, idx_o = np.intersect1d(anchors_a, anchors_o, assume_unique=True, return_indices=True)
    shared = idx_a.size
    n_a, n_o = anchors_a.size, anchors_o.size
    m = params.match
    boiler_a, boiler_o = fp.boilerplate_of(a), fp.boilerplate_of(o)
    words_of_a, words_of_o = _words(fp, a, boiler_a), _words(fp, o, boiler_o)
    counts_a = _tally(paras_a.astype(np.int64), idx_a, 0 if words_of_a is None else len(words_of_a[0]))
    counts_o = _tally(paras_o.astype(np.int64), idx_o, 0 if words_of_o is None else len(words_of_o[0]))
    cover_a, density_a, found_a = _paragraph_view(counts_a, m.paragraph_found, m.interruption_anchors)
    cover_o, density_o, found_o = _paragraph_view(counts_o, m.paragraph_found, m.interruption_anchors)
    own_a, head_a, top_a, top_paras_a = _own(counts_a, found_a)
    own_o, head_o, top_o, top_paras_o = _own(counts_o, found_o)
    rate = params.minhash.anchor_rate
    words_a, words_o = n_a / rate, n_o / rate
    if words_of_a is not None and words_of_o is not None:
        # What each side lacks of the other, weighed by words: the judging rules' "about 80% of
        # the text", not a quarter sample of it.
        found = m.paragraph_found
        own_a, cover_a = _by_words(counts_a, *words_of_a, words_of_o[1], found)
        own_o, cover_o = _by_words(counts_o, *words_of_o, words_of_a[1], found)
        words_a, words_o = float(sum(words_of_a[0])), float(sum(words_of_o[0]))
    union = n_a + n_o - shared
    return PairFeatures(
        jaccard=shared / union if union else 0.0,
        contain_a=shared / n_a if n_a else 0.0,
        contain_o=shared / n_o if n_o else 0.0,
        cover_a=cover_a,
        cover_o=cover_o,
        density_a=density_a,
        density_o=density_o,
        n_a=n_a,
        n_o=n_o,
        words_a=words_a,
        words_o=words_o,
        same_text=bool(fp.content_hashes[a]) and fp.content_hashes[a] == fp.content_hashes[o],
        found_a=found_a,
        found_o=found_o,
        boiler_a=boiler_a,
        boiler_o=boiler_o,
        own_a=own_a,
        own_o=own_o,
        head_a=head_a,
        head_o=head_o,
        top_a=top_a,
        top_o=top_o,
        top_paras_a=top_paras_a,
        top_paras_o=top_paras_o,
    )


def too_short(f: PairFeatures, params: DedupParams) -> bool:
    """Whether the shorter text is under `short_words` and the other `short_ratio` times as long."""
    short, long_ = sorted((f.words_a, f.words_o))
    return short < params.match.short_words and long_ >= params.match.short_ratio * max(short, 1.0)


def classify(f: PairFeatures, params: DedupParams) -> str | None:
    """Relation of A to the earlier text O, or None when they are not related enough to link."""
    return decide(f, params)[0]


def decide(f: PairFeatures, params: DedupParams) -> tuple[str | None, str]:
    """`classify`, with the name of the rule that decided (what `copydesk explain` prints)."""
    if f.same_text:
        return EXACT, "same_text"
    if too_short(f, params):
        return None, "too_short"
    m = params.match
    holds, why_holds = _holds(
        (f.inside_o, f.inside_a), f.own_o, f.density_a, (f.head_o, f.head_a), (f.top_a, f.top_paras_a), m
    )
    inside, why_inside = _holds(
        (f.inside_a, f.inside_o), f.own_a, f.density_o, (f.head_a, f.head_o), (f.top_o, f.top_paras_o), m
    )
    if inside and holds:
        # Each is included in the other: near duplicates when at least `inside` of each is found
        # in the other; when only one side is that far inside, the other added text of its own;
        # when neither is, each has text of its own (a version).
        holds, inside = f.inside_o >= m.inside, f.inside_a >= m.inside
        if inside and holds:
            return NEAR_DUPLICATE, "both_inside"
    if holds:
        return EXPANDED, why_holds
    if inside:
        return EXCERPT, "inside_interleaved" if why_inside == "holds_interleaved" else "inside"
    if max(f.inside_a, f.inside_o) < m.version_min:
        return None, "little_shared"
    if "head" in (why_holds, why_inside):
        return VERSION, "core_head"
    return VERSION, "core_interleaved" if min(f.density_a, f.density_o) < m.min_density else "core"


def _holds(
    insides: tuple[float, float],
    own: float,
    density: float,
    heads: tuple[float, float],
    tops: tuple[int, int],
    m: MatchParams,
) -> tuple[bool, str]:
    """Whether a text (the holder) holds another, of which `insides[0]` is found in it (and
    `insides[1]` of the holder in the other).

    - A holder whose found paragraphs stand together (its own text above or below them) holds the
      other when at most 1 - `inside` of the other is paragraphs it lacks entirely, and at least
      `holds_inside` of the other's anchors are found: 3-word anchors lose about three per
      copy-edited word, and word-level edits do not break inclusion.
    - A holder that writes its own paragraphs between those it shares must hold the other nearly
      whole (`interleaved_inside`): a write-through that drops passages and writes between the
      kept ones is a version.
    - A holder that puts its own text on top while the other's first paragraph is mostly not
      found has rewritten the lede: a version, whatever else it kept. Unless the holder's own
      first paragraph is partly the other's (more than `_OWN_FOUND` of it found) and the other's
      lede is found at `head_edited` or more, or that paragraph is all the holder puts on top:
      that lede is kept under copy edits (each edited word costs up to three runs, so 60% of the
      runs is some 85% of the words), not rewritten. Nor when no more than `own_max` of the
      holder is not found in the other: what it puts on top is the other's lede under copy edits
      its sampled runs missed (a few misspelt words in a short lede can leave none of them), and a
      version needs substantial text of its own on both sides.
    """
    inside, holder_inside = insides
    head, holder_head = heads
    top, top_paras = tops
    edited_lede = holder_head > _OWN_FOUND and (head >= m.head_edited or top_paras == 1)
    if top >= 2 and head < m.head_kept and not edited_lede and 1 - holder_inside > m.own_max:
        return False, "head"
    if density < m.min_density:
        return inside >= m.interleaved_inside, "holds_interleaved"
    return inside >= m.holds_inside and own <= m.own_max, "holds"


#: (later, earlier, relation) of a verified pair, texts by row
Triple = tuple[int, int, str]


@dataclass(slots=True)
class Verified:
    """What the verify stage hands on: the links, their measures, and for each link where one text
    holds the other (expanded, excerpt), the holder's paragraphs that the other has (or that are
    boilerplate): the rest is what the holder added."""

    links: list[Triple] = field(default_factory=list)
    measures: dict[tuple[int, int], tuple[float, float, float]] = field(default_factory=dict)
    holder_kept: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)


def verify(
    fp: Fingerprints, pairs: np.ndarray, rank: list[int] | np.ndarray, params: DedupParams
) -> Verified:
    """Verify every candidate pair once; keep the related ones, the later text first."""
    out = Verified()
    for i, j in pairs.tolist():
        a, o = (i, j) if rank[i] > rank[j] else (j, i)
        f = features(fp, a, o, params)
        rel = classify(f, params)
        if rel is None:
            continue
        out.links.append((a, o, rel))
        out.measures[(a, o)] = (f.jaccard, f.contain_a, f.contain_o)
        if rel == EXPANDED:
            out.holder_kept[(a, o)] = np.union1d(f.found_a, f.boiler_a)
        elif rel == EXCERPT:
            out.holder_kept[(a, o)] = np.union1d(f.found_o, f.boiler_o)
    return out
