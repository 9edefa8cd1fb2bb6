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
- A is *included* in O at `inside` (about 80%) or more. Both included: `near_duplicate` (or
  `exact`, same normalised text). O included in A, not the other way: A is `expanded`. A included
  in O: A is an `excerpt`.
- A text that writes its own paragraphs between the ones it shares (the found paragraphs do not
  stand together in it) holds the other only when it has `interleaved_inside` (about 90%) of it:
  a write-through that keeps the whole story and inserts paragraphs is an expanded copy, one that
  drops passages and writes between the kept ones is a `version`.
- Not included either way, but a core of at least `version_min` of one text is in the other: a
  `version` (a write-through, a rewritten lede): linked, never clustered.
- A text of fewer than `short_words` words set against one `short_ratio` times longer or more is
  too short to call a copy (a video blurb, a caption): no link, unless the two texts are the same.

Captions, credits and boilerplate have no anchors (dedup.nontext, dedup.boilerplate): they count
for neither text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dedup.fingerprint import Fingerprints
from dedup.params import DedupParams
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
    words_a: float  # estimated words of A (its anchors over the anchor rate)
    words_o: float
    same_text: bool
    found_a: np.ndarray  # paragraph indices of A found in O
    found_o: np.ndarray
    boiler_a: np.ndarray  # paragraph indices of A stripped as its source's boilerplate
    boiler_o: np.ndarray

    @property
    def inside_a(self) -> float:
        """Share of A's text found in O."""
        return max(self.contain_a, self.cover_a)

    @property
    def inside_o(self) -> float:
        """Share of O's text found in A."""
        return max(self.contain_o, self.cover_o)


def _paragraph_view(
    paras: np.ndarray, shared_idx: np.ndarray, found_share: float, interruption: int
) -> tuple[float, float, np.ndarray]:
    """Coverage (share of anchors in found paragraphs), density (share of the span from the first
    found paragraph to the last that is found) and the found paragraph indices of one text.

    A short paragraph that is not found but stands between found ones (up to `interruption`
    anchors: an "Advertisement" line, a timestamp, a caption the patterns did not know) interrupts
    the shared passage rather than adding to it: it counts neither for nor against the share.
    """
    if paras.size == 0:
        return 0.0, 0.0, np.zeros(0, dtype=np.int64)
    total = np.bincount(paras)
    hit = np.bincount(paras[shared_idx], minlength=total.size)
    present = np.flatnonzero(total > 0)
    is_found = hit[present] >= found_share * total[present]
    found = present[is_found]
    if found.size == 0:
        return 0.0, 0.0, found
    inside = (present > found[0]) & (present < found[-1])
    skipped = present[inside & ~is_found & (total[present] <= interruption)]
    counted = paras.size - int(total[skipped].sum())
    span = present[(present >= found[0]) & (present <= found[-1])]
    density = float(total[found].sum() / (total[span].sum() - total[skipped].sum()))
    return (float(total[found].sum() / counted) if counted else 0.0), density, found


def features(fp: Fingerprints, a: int, o: int, params: DedupParams) -> PairFeatures:
    """Compare text `a` with text `o` of the same fingerprint table."""
    anchors_a, paras_a = fp.anchors_of(a)
    anchors_o, paras_o = fp.anchors_of(o)
    _, idx_a, idx_o = np.intersect1d(anchors_a, anchors_o, assume_unique=True, return_indices=True)
    shared = idx_a.size
    n_a, n_o = anchors_a.size, anchors_o.size
    m = params.match
    cover_a, density_a, found_a = _paragraph_view(
        paras_a.astype(np.int64), idx_a, m.paragraph_found, m.interruption_anchors
    )
    cover_o, density_o, found_o = _paragraph_view(
        paras_o.astype(np.int64), idx_o, m.paragraph_found, m.interruption_anchors
    )
    union = n_a + n_o - shared
    rate = params.minhash.anchor_rate
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
        words_a=n_a / rate,
        words_o=n_o / rate,
        same_text=bool(fp.content_hashes[a]) and fp.content_hashes[a] == fp.content_hashes[o],
        found_a=found_a,
        found_o=found_o,
        boiler_a=fp.boilerplate_of(a),
        boiler_o=fp.boilerplate_of(o),
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
    # A text that writes its own paragraphs between those it shares must hold the other nearly
    # whole: an update that drops passages and writes between the kept ones is a version.
    interleaved = min(f.density_a, f.density_o) < m.min_density
    need = m.interleaved_inside if interleaved else m.inside
    inside, holds = f.inside_a >= need, f.inside_o >= need
    if inside and holds:
        return NEAR_DUPLICATE, "both_inside"
    if holds:
        return EXPANDED, "holds_interleaved" if interleaved else "holds"
    if inside:
        return EXCERPT, "inside_interleaved" if interleaved else "inside"
    if max(f.inside_a, f.inside_o) >= m.version_min:
        return VERSION, "core_interleaved" if interleaved else "core"
    return None, "little_shared"


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
