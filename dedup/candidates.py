"""Candidate pairs: texts that share anchors (sampled shingles) or their whole normalised text.

Anchors are a fixed-rate sample of shingles, the same sample in every text, so a short excerpt and
the long story it came from share anchors in proportion to the excerpt's length: the search is
size-aware without partitioning by size. An anchor held by very many texts (a stock phrase,
boilerplate) proposes no pairs; its texts still meet through their other anchors.
"""

from __future__ import annotations

import numpy as np

from dedup.fingerprint import Fingerprints
from dedup.params import MatchParams


def anchor_pairs(fp: Fingerprints, params: MatchParams, *, new_from: int = 0) -> np.ndarray:
    """Pairs (i, j), i < j, of texts sharing enough anchors; shape (m, 2), int64.

    With `new_from`, only pairs with at least one text at index >= new_from are proposed: the
    texts before it are history already matched among themselves.
    """
    n = len(fp)
    if fp.anchors.size == 0 or n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    counts = np.diff(fp.anchor_offsets)
    docs = np.repeat(np.arange(n, dtype=np.int64), counts)
    order = np.argsort(fp.anchors, kind="stable")
    keys, docs = fp.anchors[order], docs[order]
    boundary = np.ones(keys.size, dtype=bool)
    boundary[1:] = keys[1:] != keys[:-1]
    group = np.cumsum(boundary) - 1
    sizes = np.bincount(group)
    size_of = sizes[group]
    ok = (size_of >= 2) & (size_of <= params.max_anchor_df)
    keys_ok, docs_ok, group_ok = keys[ok], docs[ok], group[ok]
    if docs_ok.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    firsts: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    max_size = int(size_of[ok].max())
    for d in range(1, max_size):
        same = group_ok[d:] == group_ok[:-d]
        if not same.any():
            break
        firsts.append(docs_ok[:-d][same])
        seconds.append(docs_ok[d:][same])
    del keys_ok
    i = np.concatenate(firsts)
    j = np.concatenate(seconds)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    keep = (lo != hi) & (hi >= new_from)
    code = lo[keep] * n + hi[keep]
    uniq, shared = np.unique(code, return_counts=True)
    smaller = np.minimum(counts[uniq // n], counts[uniq % n])
    need = np.minimum(params.min_shared_anchors, np.maximum(smaller, 1))
    keep = (shared >= need) & (shared >= params.min_candidate_containment * smaller)
    uniq = uniq[keep]
    return np.stack([uniq // n, uniq % n], axis=1)


def exact_pairs(hashes: list[str], *, new_from: int = 0) -> np.ndarray:
    """Pairs of texts with the same normalised text (each text paired with the first of its kind)."""
    first: dict[str, int] = {}
    out = []
    for i, h in enumerate(hashes):
        if not h:  # a text without words is nobody's copy
            continue
        j = first.setdefault(h, i)
        if j != i and i >= new_from:
            out.append((j, i))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def candidate_pairs(fp: Fingerprints, params: MatchParams, *, new_from: int = 0) -> np.ndarray:
    """Every candidate pair (i < j), from anchors and from equal normalised texts, without repeats."""
    pairs = np.concatenate(
        [anchor_pairs(fp, params, new_from=new_from), exact_pairs(fp.content_hashes, new_from=new_from)]
    )
    if pairs.size == 0:
        return pairs
    n = len(fp)
    code = np.unique(pairs[:, 0] * n + pairs[:, 1])
    return np.stack([code // n, code % n], axis=1)
