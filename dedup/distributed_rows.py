"""What the driver of a distributed dedup holds of the sketches: only those of the texts that the
cluster stage reads (`dedup.cluster`: a holder of several texts is placed by the anchors it shares
with each), spread to their rows of the whole table."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from dedup.cluster import holding
from dedup.fingerprint_arrays import Fingerprints
from dedup.verify import Triple


def holding_rows(links: Iterable[Triple]) -> np.ndarray:
    """The rows (sorted) of the texts of every link where one text holds the other: the only
    sketches `cluster` reads."""
    rows = {r for a, o, rel in links if (h := holding(a, o, rel)) is not None for r in h}
    return np.array(sorted(rows), dtype=np.int64)


def spread_rows(fp: Fingerprints, rows: np.ndarray, n: int) -> Fingerprints:
    """A table of `n` texts where text `rows[i]` has the sketches of `fp`'s text i and every other
    text has none (no anchors, no paragraphs, a zero signature: `np.zeros` pages that are never
    written cost no memory)."""
    anchors_per = np.zeros(n, np.int64)
    anchors_per[rows] = np.diff(fp.anchor_offsets)
    anchor_offsets = np.zeros(n + 1, np.int64)
    np.cumsum(anchors_per, out=anchor_offsets[1:])
    signatures = np.zeros((n, fp.signatures.shape[1]), fp.signatures.dtype)
    signatures[rows] = fp.signatures
    n_shingles = np.zeros(n, fp.n_shingles.dtype)
    n_shingles[rows] = fp.n_shingles
    hashes = np.zeros(n, fp.content_hashes.dtype)
    hashes[rows] = fp.content_hashes
    para_offsets = None
    if fp.para_offsets is not None:
        paras_per = np.zeros(n, np.int64)
        paras_per[rows] = np.diff(fp.para_offsets)
        para_offsets = np.zeros(n + 1, np.int64)
        np.cumsum(paras_per, out=para_offsets[1:])
    # Rows are sorted, so the values of `fp` are already in the order of the spread table.
    return Fingerprints(
        signatures=signatures,
        n_shingles=n_shingles,
        anchor_offsets=anchor_offsets,
        anchors=fp.anchors,
        anchor_paras=fp.anchor_paras,
        content_hashes=hashes,
        para_offsets=para_offsets,
        para_keys=fp.para_keys,
        boiler=fp.boiler,
    )
