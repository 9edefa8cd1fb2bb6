"""The describe stage: one `clusters/` row per text and the `links/` rows, from the clusters formed.

Each member's relation is its relation to the text it was matched to (`copy_of`: the original, or
the copy of it that this one copies), as verified: a preview of a later write-through is an
`excerpt` of that write-through, which may hold more than the original does. The measures are
those of the same pair, so every row says what was actually compared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence

import numpy as np

from dedup.cluster import Clusters, link_rows
from dedup.fingerprint import nontext_masks
from dedup.records import EXACT, EXCERPT, EXPANDED, NEAR_DUPLICATE, ORIGINAL, Assignment, DedupResult, Doc
from dedup.text import paragraphs
from dedup.verify import Verified

_INVERSE = {EXPANDED: EXCERPT, EXCERPT: EXPANDED}


def cluster_id_for(original_id: str) -> str:
    """Cluster id given when a cluster forms: derived from its original, then never changed."""
    return "c" + hashlib.sha1(original_id.encode()).hexdigest()[:16]


def describe(docs: Sequence[Doc], clusters: Clusters, verified: Verified) -> DedupResult:
    """The rows of `clusters/` (one per doc, in order) and of `links/`."""
    roots, copy_of = clusters.roots, clusters.copy_of
    sizes = np.bincount(roots, minlength=len(docs))
    rel_of = {(a, o): rel for a, o, rel in clusters.links}
    result = DedupResult(links=link_rows([d.id for d in docs], clusters.links, verified.measures))
    texts: dict[str, str] = {}
    for i, d in enumerate(docs):
        root = int(roots[i])
        size = int(sizes[root])
        if root == i:
            result.assignments.append(Assignment(d.id, cluster_id_for(d.id), d.id, ORIGINAL, 1.0, 1.0, size))
            continue
        p = int(copy_of[i])
        if (i, p) in rel_of:  # this one is the later of the pair
            rel = rel_of[(i, p)]
            jaccard, _, contain = verified.measures[(i, p)]
            holder_key = (i, p)
        else:
            rel = _INVERSE.get(rel_of[(p, i)], rel_of[(p, i)])
            jaccard, contain, _ = verified.measures[(p, i)]
            holder_key = (p, i)
        kept = verified.holder_kept.get(holder_key) if rel == EXPANDED else None
        if kept is not None:
            result.kept_paragraphs[d.id] = kept.tolist()
            if d.text:  # added_text needs the text: empty for history docs given without it
                texts[d.id] = d.text
        result.assignments.append(
            Assignment(
                article_id=d.id,
                cluster_id=cluster_id_for(docs[root].id),
                original_id=docs[root].id,
                relation=rel,
                jaccard=round(jaccard, 4),
                containment=round(contain, 4),
                cluster_size=size,
                kept_fraction=round(contain, 4) if rel in (EXACT, EXCERPT, NEAR_DUPLICATE) else None,
                copy_of=docs[p].id,
            )
        )
    fill_added_text(result, texts)
    return result


def added_text(text: str, kept: Collection[int], nontext: np.ndarray) -> str:
    """The passages of an expanded copy that the text it holds does not have, in order, without
    its captions, credits and link lines (`nontext`, its mask over the paragraphs: dedup.nontext)."""
    skip = set(kept) | set(np.flatnonzero(nontext).tolist())
    return "\n\n".join(p for k, p in enumerate(paragraphs(text)) if k not in skip and p).strip()


def fill_added_text(result: DedupResult, texts: Mapping[str, str]) -> None:
    """Set `added_text` of the expanded copies whose texts are in `texts` (read after the pass):
    their non-text lines found for all of them at once."""
    todo = [
        (a, kept)
        for a in result.assignments
        if a.relation == EXPANDED
        and (kept := result.kept_paragraphs.get(a.article_id)) is not None
        and a.article_id in texts
    ]
    masks = nontext_masks([texts[a.article_id] for a, _ in todo])
    for (a, kept), mask in zip(todo, masks, strict=True):
        a.added_text = added_text(texts[a.article_id], kept, mask)
