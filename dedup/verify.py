"""Verify a candidate pair and name its relation (docs/architecture.md), from the two texts' sketches only.

Judging from the sketches alone, never from which texts happen to be in memory together, keeps the
decision the same whether a pair meets inside one batch or across runs: order-independence.

For texts A (the copy under test) and O (the earlier text):

- containment |A∩O|/|A| and |A∩O|/|O| from the shared anchors (an unbiased estimate: both texts
  keep the same sample of shingles), and Jaccard from the MinHash signatures;
- paragraph structure: a paragraph of A is *found* in O when most of its anchors are in O. The
  share of A's words in found paragraphs says how much of A is inside O (robust to light edits
  and to a boilerplate line or two); the *density* of the found paragraphs (found / the span from
  the first found to the last) says whether the shared text stands together as one passage.

Copies keep what they share in one piece and in order: a trimmed copy is a run of the original,
an expanded copy the original plus passages around it. A write-through update keeps scattered
paragraphs and puts new ones between them: that is a `version`, linked but not clustered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dedup.fingerprint import Fingerprints
from dedup.params import MatchParams
from dedup.records import EXACT, EXCERPT, EXPANDED, NEAR_DUPLICATE, VERSION


@dataclass(slots=True)
class PairFeatures:
    """What the sketches say about texts A and O."""

    jaccard: float
    contain_a: float  # share of A inside O (anchors)
    contain_o: float  # share of O inside A (anchors)
    cover_a: float  # share of A's anchors in paragraphs found in O
    cover_o: float
    density_a: float
    density_o: float
    n_a: int
    n_o: int
    same_text: bool
    found_a: np.ndarray  # paragraph indices of A found in O
    boiler_a: np.ndarray  # paragraph indices of A stripped as its source's boilerplate
    cut_head: bool = False  # A starts at O's first found passage, and O had more before it


def _paragraph_view(
    paras: np.ndarray, shared_idx: np.ndarray, found_share: float, interruption: int
) -> tuple[float, float, np.ndarray]:
    """Coverage, density and found paragraph indices of one text against the other.

    A short paragraph that is not found but stands between found ones (up to `interruption`
    anchors: an "Advertisement" or "Related: ..." line, a caption) interrupts the shared passage
    rather than adding to it: it counts neither for nor against either share.
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
    cover = float(total[found].sum() / counted) if counted else 0.0
    span = present[(present >= found[0]) & (present <= found[-1])]
    density = float(total[found].sum() / (total[span].sum() - total[skipped].sum()))
    return cover, density, found


def features(fp: Fingerprints, a: int, o: int, params: MatchParams) -> PairFeatures:
    """Compare text `a` with text `o` of the same fingerprint table."""
    anchors_a, paras_a = fp.anchors_of(a)
    anchors_o, paras_o = fp.anchors_of(o)
    _, idx_a, idx_o = np.intersect1d(anchors_a, anchors_o, assume_unique=True, return_indices=True)
    shared = idx_a.size
    n_a, n_o = anchors_a.size, anchors_o.size
    found, cut = params.paragraph_found, params.interruption_anchors
    cover_a, density_a, found_a = _paragraph_view(paras_a.astype(np.int64), idx_a, found, cut)
    cover_o, density_o, found_o = _paragraph_view(paras_o.astype(np.int64), idx_o, found, cut)
    boiler_a, boiler_o = fp.boilerplate_of(a), fp.boilerplate_of(o)
    if boiler_a.size or boiler_o.size:
        # The signatures include the boilerplate: estimate Jaccard from what is left.
        union = n_a + n_o - shared
        jaccard = shared / union if union else 0.0
    else:
        jaccard = float(np.count_nonzero(fp.signatures[a] == fp.signatures[o]) / fp.signatures.shape[1])
    return PairFeatures(
        jaccard=jaccard,
        contain_a=shared / n_a if n_a else 0.0,
        contain_o=shared / n_o if n_o else 0.0,
        cover_a=cover_a,
        cover_o=cover_o,
        density_a=density_a,
        density_o=density_o,
        n_a=n_a,
        n_o=n_o,
        same_text=bool(fp.content_hashes[a]) and fp.content_hashes[a] == fp.content_hashes[o],
        found_a=found_a,
        boiler_a=boiler_a,
        cut_head=_head(paras_o, found_o) > 0.1 and _head(paras_a, found_a) == 0,
    )


def _head(paras: np.ndarray, found: np.ndarray) -> float:
    """Share of a text's anchors before its first found paragraph."""
    if found.size == 0 or paras.size == 0:
        return 0.0
    return float(np.count_nonzero(paras < found[0]) / paras.size)


def classify(f: PairFeatures, params: MatchParams) -> str | None:
    """Relation of A to the earlier text O, or None when they are not related enough to link."""
    if f.same_text:
        return EXACT
    if min(f.n_a, f.n_o) < params.min_anchors_for_structure:
        # Too few anchors for paragraph structure: whole-text containment, with Jaccard as a floor.
        inside = max(f.contain_a, f.jaccard) >= params.inside
        holds = max(f.contain_o, f.jaccard) >= params.inside
        if inside and holds:
            return NEAR_DUPLICATE
        if holds:
            return EXPANDED
        if inside:
            return EXCERPT
        return VERSION if max(f.contain_a, f.contain_o) >= 0.5 else None
    inside = f.cover_a >= params.inside
    # A copy that begins where the original's later part begins has cut the original's start.
    holds = f.cover_o >= params.holds_original and not f.cut_head
    if inside and holds:
        return NEAR_DUPLICATE
    if holds and f.density_a >= params.min_density:
        return EXPANDED
    if inside and f.density_o >= params.min_density:
        return EXCERPT
    if max(f.cover_a, f.cover_o) >= params.version_min:
        return VERSION
    return None
