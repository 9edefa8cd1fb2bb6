"""Lookup segment files: their layout, what they hold in memory (`SegmentData`) and how one is written.

A segment covers some sketch files of the index (`sketches/date=.../<batch>.parquet`) and holds,
for their rows, what matching a batch against them takes, as flat little-endian arrays in one file:

    magic "CDLOOK01", header length (uint64), header (JSON: covered files, rows, doc_bits,
    num_perm, columns, and the [offset, bytes] of each section below; sections 8-byte aligned)
    file_of_row   int32[n]        which covered file (index into the header's list) each row is from
    counts        int32[n]        anchors per row
    id_hashes     uint64[n]       64-bit hash of each article id, sorted ...
    id_rows       int32[n]        ... and the row holding it
    anchor_fences uint64[A/256]   every 256th entry of `anchors`
    anchors       uint64[A]       every anchor packed with its row, sorted (as `Probe.packed`)
    key_fences    uint64[K/256]
    keys          uint64[K]       each row's keys packed and sorted (as `Probe.keys_packed`)
    signatures    uint32[n, num_perm]
    anchor_offsets int64[n + 1]   CSR offsets of each row's anchors in the two sections below
    anchor_values uint64[A]       each row's anchors, in row order (as `Fingerprints.anchors`)
    anchor_paras  uint16[A]
    meta_offsets  int64[n + 1]    CSR offsets of each row's metadata in `meta`
    meta          bytes           one JSON list per row: the sketch columns other than the arrays
    para_offsets  int64[n + 1]    CSR offsets of each row's paragraph keys ...
    para_keys     uint32[P]       ... (`Fingerprints.para_keys`)
    line_fences   uint64[L/256]   every 256th entry of `line_keys`
    line_keys     uint64[L]       every (source, paragraph) of the rows, and every (source, paragraph, side,
                                  bucket of the paragraph on that side), and the lines of any source at
                                  the rows' ends, sorted (`boilerplate.LineCounts`) ...
    line_counts   int32[L]        ... and how many different texts hold it

Segment files never change once written; several small ones are merged into one larger one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs

from common.storage import Location, _translate, check_writable, commit_local
from dedup.boilerplate import LineCounts
from dedup.candidates import Probe
from dedup.fingerprint_arrays import Fingerprints

log = logging.getLogger(__name__)

MAGIC = b"CDLOOK01"
SUFFIX = ".lookup"
FENCE = 256  # entries per page of the sorted arrays
ARRAY_COLUMNS = ("signature", "anchors", "anchor_paras", "para_keys")


def id_hashes(ids: Sequence[str]) -> np.ndarray:
    """64-bit hashes of article ids (uint64)."""
    return np.array(
        [int.from_bytes(hashlib.blake2b(i.encode(), digest_size=8).digest(), "little") for i in ids],
        dtype=np.uint64,
    )


def meta_blobs(table: pa.Table) -> tuple[list[str], np.ndarray, bytes]:
    """(column names, offsets, bytes) of the per-row JSON of `table`'s columns other than the arrays."""
    names = [n for n in table.column_names if n not in ARRAY_COLUMNS and n != "date"]
    cols = []
    for n in names:
        col = table[n]
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.int64())
        cols.append(col.to_pylist())
    parts = [json.dumps(row, separators=(",", ":")).encode() for row in zip(*cols, strict=True)]
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    return names, offsets, b"".join(parts)


@dataclass(slots=True)
class SegmentData:
    """Everything a segment holds for its rows, in memory (to write one, or to merge several)."""

    files: list[str]  # covered sketch files, relative to the sketches folder
    file_of_row: np.ndarray  # int32
    ids: np.ndarray  # uint64 id hashes, row order
    fp: Fingerprints
    meta_columns: list[str]
    meta_offsets: np.ndarray
    meta: bytes
    lines: LineCounts = field(default_factory=LineCounts.empty)

    @staticmethod
    def concat(parts: Sequence[SegmentData]) -> SegmentData:
        """The rows of several segments (covering other files) in one."""
        first_file = np.cumsum([0] + [len(d.files) for d in parts])
        offsets, meta = concat_meta([(d.meta_offsets, d.meta) for d in parts])
        return SegmentData(
            files=[f for d in parts for f in d.files],
            file_of_row=np.concatenate(
                [d.file_of_row + k for d, k in zip(parts, first_file, strict=False)]
            ).astype(np.int32),
            ids=np.concatenate([d.ids for d in parts]),
            fp=Fingerprints.concat([d.fp for d in parts]),
            meta_columns=parts[0].meta_columns,
            meta_offsets=offsets,
            meta=meta,
            lines=LineCounts.merge([d.lines for d in parts]),
        )


def concat_meta(pieces: Sequence[tuple[np.ndarray, bytes]]) -> tuple[np.ndarray, bytes]:
    """One (offsets, bytes) of per-row metadata from several, one after the other."""
    starts = np.cumsum([0] + [len(blob) for _, blob in pieces])
    offsets = [off[:-1] + start for (off, _), start in zip(pieces, starts[:-1], strict=True)]
    return np.concatenate([*offsets, starts[-1:]]).astype(np.int64), b"".join(blob for _, blob in pieces)


def write_segment(loc: Location, data: SegmentData, *, index_keys: int, probe: Probe | None = None) -> str:
    """Write `data` as a segment file under `loc`, named after the files it covers; returns its path."""
    fp = data.fp
    n = len(fp)
    probe = probe or Probe.of(fp, index_keys)
    id_order = np.argsort(data.ids, kind="stable")
    keys = probe.keys_packed
    arrays: list[tuple[str, np.ndarray | bytes]] = [
        ("file_of_row", data.file_of_row.astype("<i4")),
        ("counts", probe.counts.astype("<i4")),
        ("id_hashes", data.ids[id_order].astype("<u8")),
        ("id_rows", id_order.astype("<i4")),
        ("anchor_fences", probe.packed[::FENCE].copy()),
        ("anchors", probe.packed),
        ("key_fences", keys[::FENCE].copy()),
        ("keys", keys),
        ("signatures", np.ascontiguousarray(fp.signatures, dtype="<u4")),
        ("anchor_offsets", np.asarray(fp.anchor_offsets, dtype="<i8")),
        ("anchor_values", np.asarray(fp.anchors, dtype="<u8")),
        ("anchor_paras", np.asarray(fp.anchor_paras, dtype="<u2")),
        ("meta_offsets", np.asarray(data.meta_offsets, dtype="<i8")),
        ("meta", data.meta),
        ("para_offsets", np.asarray(_or_zeros(fp.para_offsets, n + 1), dtype="<i8")),
        ("para_keys", np.asarray(_or_zeros(fp.para_keys, 0), dtype="<u4")),
        ("line_fences", data.lines.keys[::FENCE].astype("<u8")),
        # As they are (astype would copy them: a million texts' lines are hundreds of megabytes).
        ("line_keys", np.asarray(data.lines.keys, dtype="<u8")),
        ("line_counts", np.asarray(data.lines.counts, dtype="<i4")),
    ]
    sections: dict[str, list[int]] = {}
    at = 0
    for name, arr in arrays:
        size = len(arr) if isinstance(arr, bytes) else arr.nbytes
        body = arr if isinstance(arr, bytes) else np.ascontiguousarray(arr).data.cast("B")
        sections[name] = [at, size, zlib.crc32(body)]
        at += -(-size // 8) * 8
    header = {
        "files": data.files,
        "rows": n,
        "doc_bits": probe.doc_bits,
        "num_perm": int(fp.signatures.shape[1]) if n else 0,
        "meta_columns": data.meta_columns,
        "fence": FENCE,
        "sections": sections,
        "body_bytes": at,
    }
    head = json.dumps(header).encode()
    head += b" " * (-(len(MAGIC) + 8 + len(head)) % 8)
    name = "seg-" + hashlib.sha1("\n".join(data.files).encode()).hexdigest()[:16] + SUFFIX
    target = loc.child(name)
    # Written in pieces, so under a temporary name on every store (pyarrow completes an S3 upload
    # even when the writer raised): only a whole segment ever has the final key.
    tmp = loc.child(f".tmp-{uuid.uuid4().hex}")
    check_writable(target.uri)
    try:
        loc.fs.create_dir(loc.path, recursive=True)
        with loc.fs.open_output_stream(tmp.path) as out:
            out.write(MAGIC + len(head).to_bytes(8, "little") + head)
            pos = 0
            for sec, arr in arrays:
                start = sections[sec][0]
                if start > pos:
                    out.write(b"\0" * (start - pos))
                out.write(arr if isinstance(arr, bytes) else pa.py_buffer(np.ascontiguousarray(arr)))
                pos = start + sections[sec][1]
            if at > pos:
                out.write(b"\0" * (at - pos))
        if isinstance(loc.fs, pafs.LocalFileSystem):
            commit_local(tmp.path, target.path)
        else:
            loc.fs.move(tmp.path, target.path)
    except (OSError, pa.ArrowException) as exc:
        _discard(loc.fs, tmp.path)
        raise _translate(exc, f"cannot write {target.uri}") from exc
    except BaseException:
        _discard(loc.fs, tmp.path)
        raise
    return target.path


def _discard(fs: pafs.FileSystem, path: str) -> None:
    try:
        fs.delete_file(path)
    except (OSError, pa.ArrowException):
        log.debug("no temporary segment to remove at %s", path)


def _or_zeros(arr: np.ndarray | None, n: int) -> np.ndarray:
    return np.zeros(n, np.int64) if arr is None else arr
