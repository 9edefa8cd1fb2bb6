"""Deduplicate a table of texts in one pass: a pipeline of named stages, each run once.

    fingerprint ──> strip boilerplate ──> candidates ──> verify ──> cluster ──> describe
    Fingerprints    Fingerprints          pairs          Verified    Clusters    DedupResult

Each stage hands the next a typed result and is visited once: the verify stage computes every
pair's features once and keeps what later stages need (the measures of each link, the paragraphs
an expanded copy shares); the cluster stage reads links and sketches; the describe stage writes
rows from both. `deduplicate(docs)` is the library entry point: any table of texts with ids, no
Prefect, no HTTP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from common import progress
from dedup.boilerplate import LineCounts, source_keys, strip_boilerplate
from dedup.candidates import Probe, candidate_pairs
from dedup.cluster import cluster
from dedup.describe import cluster_id_for, describe, fill_added_text
from dedup.fingerprint import Texts, fingerprint
from dedup.fingerprint_arrays import Fingerprints
from dedup.params import DedupParams
from dedup.records import DedupResult, Doc
from dedup.verify import verify

__all__ = [
    "OnePass",
    "cluster_id_for",
    "deduplicate",
    "deduplicate_batches",
    "fill_added_text",
    "group",
    "precedence",
]

log = logging.getLogger(__name__)

_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


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
    `added_text` is left empty: fill it with `fill_added_text` from a second read of the texts of
    the `expanded` copies.

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
    fp = strip_boilerplate(metas, fp, params.match, [lines], in_place=True)
    probe = Probe.of(fp, params.match.index_keys)
    return OnePass(metas, fp, group(metas, fp, params, probe=probe), probe, lines)


def group(
    docs: Sequence[Doc],
    fp: Fingerprints,
    params: DedupParams,
    *,
    pairs: np.ndarray | None = None,
    probe: Probe | None = None,
) -> DedupResult:
    """Match and cluster docs whose fingerprints are `fp` (row i is docs[i]): the stages after
    fingerprinting.

    Boilerplate is stripped first (counted over `docs`) unless `fp` comes stripped already; a
    `probe` given must be that of the stripped fingerprints.
    """
    t0 = time.perf_counter()
    fp = strip_boilerplate(docs, fp, params.match)
    rank = precedence(docs)
    if pairs is None:
        with progress.stage("match", total=len(docs)) as step:
            pairs = candidate_pairs(fp, params.match, probe=probe)
            step.advance(len(docs))
    t1 = time.perf_counter()
    with progress.stage("verify", total=len(pairs)) as step:
        verified = verify(fp, pairs, rank, params)
        step.advance(len(pairs))
    t2 = time.perf_counter()
    m = params.match
    clusters = cluster(len(docs), rank, verified.links, fp, m.main_story, m.version_min)
    result = describe(docs, clusters, verified)
    log.info(
        "dedup: %d docs, %d candidate pairs, %d links; candidates %.2fs, verify %.2fs, cluster %.2fs",
        len(docs),
        len(pairs),
        len(verified.links),
        t1 - t0,
        t2 - t1,
        time.perf_counter() - t2,
    )
    return result
