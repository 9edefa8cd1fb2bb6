"""Deduplicate a table of texts in one pass: fingerprint, candidates, verify, cluster.

`deduplicate(docs)` is the library entry point: any table of texts with ids, no Prefect, no HTTP.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from common import progress
from dedup.boilerplate import LineCounts, source_keys, strip_boilerplate
from dedup.candidates import Probe, candidate_pairs
from dedup.cluster import components, link_rows
from dedup.fingerprint import Fingerprints, Texts, fingerprint
from dedup.params import DedupParams
from dedup.records import (
    COPY_RELATIONS,
    EXCERPT,
    EXPANDED,
    NEAR_DUPLICATE,
    ORIGINAL,
    Assignment,
    DedupResult,
    Doc,
)
from dedup.text import paragraphs
from dedup.verify import PairFeatures, classify, features

log = logging.getLogger(__name__)

_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


def cluster_id_for(original_id: str) -> str:
    """Cluster id given when a cluster forms: derived from its original, then never changed."""
    return "c" + hashlib.sha1(original_id.encode()).hexdigest()[:16]


def precedence(docs: Sequence[Doc]) -> list[int]:
    """Rank of each doc as a candidate original: earliest published, then fetched, then smallest id.

    Two tie-breaks come before "fetched", in this order, among pages published at the same time:
    the higher publisher priority (`Doc.source_priority`, None as 0: the newsroom's own ranking of
    its sources), then the page at its own canonical URL (the same page under a tracking or AMP URL
    is the copy; such twins come from one publisher, so priority rarely separates them).
    """

    def key(i: int) -> tuple[datetime, int, bool, datetime, str]:
        d = docs[i]
        return (
            d.published_at or _FAR_FUTURE,
            -(d.source_priority or 0),
            not d.is_canonical,
            d.fetched_at or _FAR_FUTURE,
            d.id,
        )

    order = sorted(range(len(docs)), key=key)
    rank = [0] * len(docs)
    for r, i in enumerate(order):
        rank[i] = r
    return rank


def deduplicate(docs: Sequence[Doc], params: DedupParams | None = None) -> DedupResult:
    """Group `docs` into clusters of copies; one `Assignment` per doc, plus the verified links."""
    params = params or DedupParams()
    t0 = time.perf_counter()
    fp = fingerprint([d.text for d in docs], params.minhash)
    log.info("dedup: fingerprinted %d docs in %.2fs", len(docs), time.perf_counter() - t0)
    return group(docs, fp, params)


@dataclass(slots=True)
class OnePass:
    """What `deduplicate_batches` decided, and what it made on the way that the index is built of."""

    docs: list[Doc]  # without their text
    fp: Fingerprints  # boilerplate stripped
    result: DedupResult
    probe: Probe  # the candidate search's `Probe.of(fp)`
    lines: LineCounts  # every (source, paragraph) of the texts


def deduplicate_batches(
    batches: Iterable[Sequence[Doc] | tuple[Sequence[Doc], Texts | Fingerprints]],
    params: DedupParams | None = None,
) -> OnePass:
    """`deduplicate` for input that need not fit in memory: texts are fingerprinted batch by batch
    and dropped; the docs come back without text, and their fingerprints with boilerplate stripped.
    `added_text` is left empty: fill it with `fill_added_text`, given those fingerprints, from a
    second read of the texts of the `expanded` copies.

    A batch is docs, or (docs without text, their texts) with the texts in an Arrow column
    (`inputs.iter_text_batches`), which `fingerprint` reads without making them Python strings.
    The candidate `Probe` and the line counts come back too: the index's lookup segment is made of
    them (building a second probe for a million texts would double the largest array there is).
    """
    params = params or DedupParams()
    t0 = time.perf_counter()
    metas: list[Doc] = []
    parts: list[Fingerprints] = []
    for batch in batches:
        docs, texts = batch if isinstance(batch, tuple) else (batch, [d.text for d in batch])
        progress.advance("read", len(docs))
        # Fingerprinted elsewhere already (`dedup.distributed`: by workers, with these params).
        parts.append(texts if isinstance(texts, Fingerprints) else fingerprint(texts, params.minhash))
        progress.advance("fingerprint", len(docs))
        metas.extend(replace(d, text="") if d.text else d for d in docs)
        del batch, docs, texts
    # The pieces are released as they are copied into fp: the table is never held twice.
    fp = Fingerprints.concat(parts, consume=True) if parts else fingerprint([], params.minhash)
    del parts
    progress.finish("read")
    progress.finish("fingerprint")
    log.info("dedup: fingerprinted %d docs in %.2fs", len(metas), time.perf_counter() - t0)
    lines = LineCounts.of(fp, source_keys(metas), min_texts=1)
    fp = strip_boilerplate(metas, fp, params.match.boilerplate_min_texts, [lines], in_place=True)
    probe = Probe.of(fp, params.match.index_keys)
    return OnePass(metas, fp, group(metas, fp, params, probe=probe), probe, lines)


def fill_added_text(
    result: DedupResult, fp: Fingerprints, ids: Sequence[str], texts: Mapping[str, str], params: DedupParams
) -> None:
    """Set `added_text` of the expanded copies whose texts are in `texts` (row i of fp is ids[i])."""
    row = {doc_id: i for i, doc_id in enumerate(ids)}
    for a in result.assignments:
        if a.relation == EXPANDED and a.article_id in texts:
            f = features(fp, row[a.article_id], row[a.original_id], params.match)
            a.added_text = added_text(texts[a.article_id], f)


def group(
    docs: Sequence[Doc],
    fp: Fingerprints,
    params: DedupParams,
    *,
    pairs: np.ndarray | None = None,
    probe: Probe | None = None,
) -> DedupResult:
    """Match and cluster docs whose fingerprints are `fp` (row i is docs[i]).

    Boilerplate is stripped first (counted over `docs`) unless `fp` comes stripped already; a
    `probe` given must be that of the stripped fingerprints.
    """
    t0 = time.perf_counter()
    fp = strip_boilerplate(docs, fp, params.match.boilerplate_min_texts)
    rank = precedence(docs)
    if pairs is None:
        with progress.stage("match", total=len(docs)) as step:
            pairs = candidate_pairs(fp, params.match, probe=probe)
            step.advance(len(docs))
    t1 = time.perf_counter()
    with progress.stage("verify", total=len(pairs)) as step:
        links, feats = verify_pairs(fp, pairs, rank, params)
        step.advance(len(pairs))
    t2 = time.perf_counter()
    roots, links = components(len(docs), rank, links)
    to_original: dict[tuple[int, int], PairFeatures] = {}
    roots = confirm_members(fp, roots, rank, links, params, seen=to_original)
    result = assign(docs, fp, roots, links, feats, params, seen=to_original)
    log.info(
        "dedup: %d docs, %d candidate pairs, %d links; candidates %.2fs, verify %.2fs, cluster %.2fs",
        len(docs),
        len(pairs),
        len(links),
        t1 - t0,
        t2 - t1,
        time.perf_counter() - t2,
    )
    return result


def verify_pairs(
    fp: Fingerprints, pairs: np.ndarray, rank: Sequence[int], params: DedupParams
) -> tuple[list[tuple[int, int, str]], dict[tuple[int, int], tuple[float, float, float]]]:
    """Verified links (later, earlier, relation) and their (jaccard, containment a, containment o)."""
    links: list[tuple[int, int, str]] = []
    feats: dict[tuple[int, int], tuple[float, float, float]] = {}
    for i, j in pairs.tolist():
        a, o = (i, j) if rank[i] > rank[j] else (j, i)
        f = features(fp, a, o, params.match)
        rel = classify(f, params.match)
        if rel is None:
            continue
        links.append((a, o, rel))
        feats[(a, o)] = (f.jaccard, f.contain_a, f.contain_o)
    return links, feats


def confirm_members(
    fp: Fingerprints,
    roots: np.ndarray,
    rank: Sequence[int],
    links: list[tuple[int, int, str]],
    params: DedupParams,
    *,
    seen: dict[tuple[int, int], PairFeatures] | None = None,
) -> np.ndarray:
    """Keep in each cluster only the texts that are copies of its original.

    A chain of links can reach a text that shares nothing with the original (an excerpt of what an
    expanded copy added). Such texts leave the cluster and are grouped again among themselves,
    with the links between them, until every member is a copy of its cluster's original. The
    features of each (member, original) pair land in `seen`, for `assign` to use again.
    """
    seen = {} if seen is None else seen
    roots = roots.copy()
    pending = [i for i in range(len(roots)) if roots[i] != i]
    for _ in range(8):
        detached = [
            i
            for i in pending
            if classify(_features(fp, i, int(roots[i]), params, seen), params.match) not in COPY_RELATIONS
        ]
        if not detached:
            break
        dset = set(detached)
        sub = [(a, o, rel) for a, o, rel in links if a in dset and o in dset]
        sub_roots, _ = components(len(roots), rank, sub)
        for i in detached:
            roots[i] = sub_roots[i]
        pending = [i for i in detached if roots[i] != i]
    else:
        for i in pending:  # still unconfirmed after the last round: alone, rather than wrongly joined
            roots[i] = i
    return roots


def _features(
    fp: Fingerprints, a: int, o: int, params: DedupParams, seen: dict[tuple[int, int], PairFeatures] | None
) -> PairFeatures:
    """`features(fp, a, o)`, computed once per pair when `seen` keeps them."""
    if seen is None:
        return features(fp, a, o, params.match)
    if (a, o) not in seen:
        seen[(a, o)] = features(fp, a, o, params.match)
    return seen[(a, o)]


def assign(
    docs: Sequence[Doc],
    fp: Fingerprints,
    roots: np.ndarray,
    links: list[tuple[int, int, str]],
    feats: dict[tuple[int, int], tuple[float, float, float]],
    params: DedupParams,
    *,
    seen: dict[tuple[int, int], PairFeatures] | None = None,
) -> DedupResult:
    """One `Assignment` per doc: its cluster, original, and relation to that original."""
    sizes = np.bincount(roots, minlength=len(docs))
    direct = {(a, o): rel for a, o, rel in links}
    first_hop: dict[int, str] = {}
    for a, _o, rel in links:
        if rel in COPY_RELATIONS:
            first_hop.setdefault(a, rel)
    out = []
    for i, d in enumerate(docs):
        root = int(roots[i])
        original = docs[root]
        if root == i:
            out.append(Assignment(d.id, cluster_id_for(d.id), d.id, ORIGINAL, 1.0, 1.0, int(sizes[root])))
            continue
        f = _features(fp, i, root, params, seen)
        found = direct.get((i, root)) or classify(f, params.match)
        rel = found if found in COPY_RELATIONS else first_hop.get(i, NEAR_DUPLICATE)
        out.append(
            Assignment(  # added_text needs the text: empty for history docs given without it
                article_id=d.id,
                cluster_id=cluster_id_for(original.id),
                original_id=original.id,
                relation=rel,
                jaccard=round(f.jaccard, 4),
                containment=round(f.contain_o, 4),
                cluster_size=int(sizes[root]),
                added_text=added_text(d.text, f) if rel == EXPANDED and d.text else None,
                kept_fraction=round(f.contain_o, 4) if rel in (EXCERPT, NEAR_DUPLICATE) else None,
            )
        )
    ids = [d.id for d in docs]
    return DedupResult(assignments=out, links=link_rows(ids, links, feats))


def added_text(text: str, f: PairFeatures) -> str:
    """The passages of an expanded copy that its original does not have, in order."""
    paras = paragraphs(text)
    skip = set(f.found_a.tolist()) | set(f.boiler_a.tolist())
    return "\n\n".join(p for k, p in enumerate(paras) if k not in skip and p).strip()
