"""The sketch files of the dedup index: one Parquet row per article, what matching needs of it.

    <root>/index/<params tag>/sketches/date=YYYY-MM-DD/<batch>.parquet

A row holds the article's metadata and its fingerprints (`dedup.fingerprint_arrays.Fingerprints`) as
binary columns: the MinHash signature, the anchors and their paragraphs, the paragraph keys. The
columns are made on the arrays' memory and read back the same way, without a Python loop per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from itertools import pairwise

import numpy as np
import pyarrow as pa

from dedup.fingerprint_arrays import Fingerprints, hashes_from_hex, hashes_to_hex
from dedup.records import Doc
from dedup.tables import NULL_PARTITION, UNDATED, doc_date

_MAX_BINARY = (1 << 31) - 1  # bytes in one chunk of a binary column

SKETCH_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("source", pa.string()),
        ("url", pa.string()),
        ("canonical_url", pa.string()),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("n_shingles", pa.int32()),
        ("content_hash", pa.string()),
        ("signature", pa.binary()),
        ("anchors", pa.binary()),
        ("anchor_paras", pa.binary()),
        ("para_keys", pa.binary()),
        ("date", pa.string()),
        ("source_priority", pa.int32()),  # added later: older sketch files lack it (read as None)
    ]
)


def docs_to_sketches(docs: Sequence[Doc], fp: Fingerprints) -> pa.Table:
    """Sketch rows of `docs` (row i of `fp` is docs[i])."""
    return pa.table(
        {
            "article_id": [d.id for d in docs],
            "source": [d.source for d in docs],
            "url": [d.url for d in docs],
            "canonical_url": [d.canonical_url for d in docs],
            "published_at": [d.published_at for d in docs],
            "fetched_at": [d.fetched_at for d in docs],
            "n_shingles": fp.n_shingles.astype(np.int32),
            "content_hash": hashes_to_hex(fp.content_hashes),
            "signature": _binary_rows(
                fp.signatures.reshape(-1), np.arange(len(docs) + 1) * fp.signatures.shape[1]
            ),
            "anchors": _binary_rows(fp.anchors, fp.anchor_offsets),
            "anchor_paras": _binary_rows(fp.anchor_paras, fp.anchor_offsets),
            "para_keys": _para_keys_column(fp),
            "date": [doc_date(d) for d in docs],
            "source_priority": [d.source_priority for d in docs],
        },
        schema=SKETCH_SCHEMA,
    )


def _para_keys_column(fp: Fingerprints) -> pa.ChunkedArray:
    if fp.para_offsets is None or fp.para_keys is None:
        return pa.chunked_array([pa.nulls(len(fp), pa.binary())])
    return _binary_rows(fp.para_keys, fp.para_offsets)


def _binary_rows(values: np.ndarray, offsets: np.ndarray) -> pa.ChunkedArray:
    """A binary column whose row i is `values[offsets[i]:offsets[i + 1]]`, made on the array's memory
    rather than from a bytes object per row; in chunks under binary's 2 GB offset limit."""
    size = values.dtype.itemsize
    n = offsets.size - 1
    bounds = [0]
    while bounds[-1] < n:
        stop = int(np.searchsorted(offsets, offsets[bounds[-1]] + _MAX_BINARY // size, side="right")) - 1
        bounds.append(min(max(stop, bounds[-1] + 1), n))
    chunks = []
    for lo, hi in pairwise(bounds):
        data = np.ascontiguousarray(values[offsets[lo] : offsets[hi]])
        offs = ((offsets[lo : hi + 1] - offsets[lo]) * size).astype(np.int32)
        buffers = [None, pa.py_buffer(offs), pa.py_buffer(data)]
        chunks.append(pa.Array.from_buffers(pa.binary(), hi - lo, buffers))
    return pa.chunked_array(chunks, pa.binary())


def _binary_values(col: pa.ChunkedArray, itemsize: int) -> tuple[np.ndarray, np.ndarray]:
    """(flat values, offsets in items) of a binary column, without a Python loop per row."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if not isinstance(arr, pa.LargeBinaryArray):
        arr = arr.cast(pa.large_binary())
    _, off_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    start, end = int(offsets[0]), int(offsets[-1])
    values = data[start:end].view(np.uint8).copy().view(f"<u{itemsize}")
    return values, (offsets - start) // itemsize


def sketches_to_docs(table: pa.Table, num_perm: int) -> tuple[list[Doc], Fingerprints]:
    """History docs (text left empty) and their fingerprints, from sketch rows."""
    sig, _ = _binary_values(table["signature"], 4)
    anchors, offsets = _binary_values(table["anchors"], 8)
    paras, _ = _binary_values(table["anchor_paras"], 2)
    para_offsets, para_keys = None, None
    if "para_keys" in table.column_names and table["para_keys"].null_count == 0:
        para_keys, para_offsets = _binary_values(table["para_keys"], 4)
        para_offsets = para_offsets.astype(np.int64)
    ids = table["article_id"].to_pylist()
    cols = [table[c].to_pylist() for c in ("source", "url", "canonical_url", "published_at", "fetched_at")]
    prio = (
        table["source_priority"].to_pylist() if "source_priority" in table.column_names else [None] * len(ids)
    )
    docs = [
        Doc(
            i,
            "",
            source=s,
            url=u,
            canonical_url=cu,
            published_at=_utc(p),
            fetched_at=_utc(f),
            source_priority=r,
        )
        for i, s, u, cu, p, f, r in zip(ids, *cols, prio, strict=True)
    ]
    fp = Fingerprints(
        signatures=sig.reshape(len(ids), num_perm),
        n_shingles=table["n_shingles"].to_numpy().astype(np.int32),
        anchor_offsets=offsets.astype(np.int64),
        anchors=anchors,
        anchor_paras=paras,
        content_hashes=hashes_from_hex(table["content_hash"].to_pylist()),
        para_offsets=para_offsets,
        para_keys=para_keys,
    )
    return docs, fp


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def file_numbers(table: pa.Table, stem: str, files: dict[str, int]) -> np.ndarray:
    """The number in `files` (extended as needed) of the sketch file that `write_partitioned`
    writes each row of `table` to."""
    out = np.zeros(table.num_rows, dtype=np.int32)
    for k, value in enumerate(table["date"].to_pylist()):
        out[k] = files.setdefault(f"date={value}/{stem}.parquet", len(files))
    return out


def in_window(path: str, lo: date, hi: date) -> bool:
    """Whether a sketch file's date partition is in ``[lo, hi]`` (undated files always are)."""
    part = next((p for p in path.split("/") if p.startswith("date=")), None)
    if part is None or part in (f"date={NULL_PARTITION}", f"date={UNDATED}"):
        return True
    try:
        day = date.fromisoformat(part[5:])
    except ValueError:
        return True
    return lo <= day <= hi
