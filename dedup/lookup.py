"""Lookup segments: stored sketches laid out so that a batch reads only the little it needs.

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
    line_keys     uint64[L]       every (source, paragraph) of the rows, sorted (`boilerplate.LineCounts`) ...
    line_counts   int32[L]        ... and how many different texts hold it

Looking a batch up reads the header, the fences, the counts and the keys (the batch's anchors
fall everywhere in them), and only the pages of `anchors` where the batch's keys fall (256
entries each, adjacent pages read together); a candidate is then read by row from its sections
(signature, anchors, metadata, paragraphs); the boilerplate counts of the lines a batch compares
are read a page at a time like the anchors. Every read is a range read
(`RandomAccessFile.read_at`), on a local folder as on S3.
Segment files never change once written; several small ones are merged into one larger one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
import uuid
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs

from common.storage import Location, _translate, check_writable, commit_local
from dedup.boilerplate import LineCounts
from dedup.candidates import Probe
from dedup.errors import IndexStateError
from dedup.fingerprint import Fingerprints

log = logging.getLogger(__name__)

MAGIC = b"CDLOOK01"
SUFFIX = ".lookup"
FENCE = 256  # entries per page of the sorted arrays
_GAP = 1 << 16  # byte gap under which two ranges are read as one
_WHOLE = 8 << 20  # files up to this size are read whole
_READERS = 32  # range reads in flight at once on a remote store
ARRAY_COLUMNS = ("signature", "anchors", "anchor_paras", "para_keys")


def _map(path: str) -> mmap.mmap:
    """A local file mapped for random reads: a page is read when touched, without read-ahead
    (which would read far more than the few pages a lookup touches)."""
    with open(path, "rb") as fh:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    mapped.madvise(mmap.MADV_RANDOM)
    return mapped


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
        ("line_keys", data.lines.keys.astype("<u8")),
        ("line_counts", data.lines.counts.astype("<i4")),
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


def _broken(path: str, why: str) -> IndexStateError:
    return IndexStateError(
        f"the lookup segment {path} is damaged: {why}. Delete it: the next run rebuilds it from the "
        "sketch files it covered (or call DedupIndex.build_lookups() to do it now)"
    )


def _or_zeros(arr: np.ndarray | None, n: int) -> np.ndarray:
    return np.zeros(n, np.int64) if arr is None else arr


@dataclass(slots=True)
class Segment:
    """An open segment file; what a lookup always needs is read on opening, the rest on demand."""

    path: str
    fs: pafs.FileSystem
    files: list[str]
    rows: int
    doc_bits: int
    num_perm: int
    meta_columns: list[str]
    fence: int  # entries per page of the sorted arrays
    sections: dict[str, tuple[int, int]]
    base: int
    file_of_row: np.ndarray
    counts: np.ndarray
    anchor_fences: np.ndarray
    line_fences: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    _keys: np.ndarray | None = None
    _ids: tuple[np.ndarray, np.ndarray] | None = None
    _handle: Any = field(default=None, repr=False)
    _whole: Any = field(default=None, repr=False)  # the whole file, when small
    crcs: dict[str, int] = field(default_factory=dict)  # CRC-32 of each section, from the header

    @staticmethod
    def open(fs: pafs.FileSystem, path: str) -> Segment:
        try:
            # A local file is mapped (read where touched); on a remote store a small segment (a
            # batch's) is read whole, in one request, and a large one by range.
            local = isinstance(fs, pafs.LocalFileSystem)
            f: Any = _map(path) if local else fs.open_input_file(path)
            total = len(f) if local else f.size()
            whole = local or total <= _WHOLE
            first = memoryview(f) if local else f.read_at(total if whole else min(total, 1 << 16), 0)
            if bytes(first[:8]) != MAGIC:
                raise _broken(path, "it does not start as a lookup segment")
            size = int.from_bytes(bytes(first[8:16]), "little")
            if 16 + size > total:
                raise _broken(path, f"its header says {size} bytes but the file has {total}")
            head = first[16 : 16 + size] if 16 + size <= len(first) else f.read_at(size, 16)
            header = json.loads(bytes(head))
            sections = {k: (int(v[0]), int(v[1])) for k, v in header["sections"].items()}
            crcs = {k: int(v[2]) for k, v in header["sections"].items() if len(v) > 2}
            body = int(header.get("body_bytes", max((o + n for o, n in sections.values()), default=0)))
        except (OSError, pa.ArrowException) as exc:
            raise _translate(exc, f"cannot read {path}") from exc
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise _broken(path, f"its header cannot be read ({exc})") from exc
        if 16 + size + body != total:
            raise _broken(path, f"it has {total} bytes where its header says {16 + size + body}")
        seg = Segment(
            path=path,
            fs=fs,
            files=list(header["files"]),
            rows=int(header["rows"]),
            doc_bits=int(header["doc_bits"]),
            num_perm=int(header["num_perm"]),
            meta_columns=list(header["meta_columns"]),
            fence=int(header["fence"]),
            sections=sections,
            base=16 + size,
            file_of_row=np.zeros(0, np.int32),
            counts=np.zeros(0, np.int32),
            anchor_fences=np.zeros(0, np.uint64),
            _handle=f,
            _whole=first if whole else None,
        )
        seg.crcs = crcs
        seg.file_of_row = seg._checked("file_of_row", "<i4")
        seg.counts = seg._checked("counts", "<i4").astype(np.int64)
        seg.anchor_fences = seg._checked("anchor_fences", "<u8")
        if "line_fences" in sections:
            seg.line_fences = seg._checked("line_fences", "<u8")
        return seg

    def _checked(self, section: str, dtype: str) -> np.ndarray:
        """A section read whole, its checksum compared with the one its header holds."""
        arr = self._array(section, dtype)
        want = self.crcs.get(section)
        if want is not None and zlib.crc32(np.ascontiguousarray(arr).data.cast("B")) != want:
            raise _broken(self.path, f"its {section} section does not match its checksum")
        return arr

    def _read(self, offset: int, nbytes: int) -> Any:
        """Bytes [offset, offset + nbytes) of the sections (a buffer: bytes or a pyarrow Buffer)."""
        if nbytes == 0:
            return b""
        if self._whole is not None:
            return self._whole[self.base + offset : self.base + offset + nbytes]
        try:
            return self._handle.read_at(nbytes, self.base + offset)
        except (OSError, pa.ArrowException) as exc:
            raise _translate(exc, f"cannot read {self.path}") from exc

    def _array(self, section: str, dtype: str, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """Items [lo, hi) of a section."""
        start, size = self.sections[section]
        item = np.dtype(dtype).itemsize
        hi = size // item if hi is None else hi
        return np.frombuffer(self._read(start + lo * item, (hi - lo) * item), dtype=dtype)

    def _ranges(self, section: str, dtype: str, lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
        """Items [lo[i], hi[i]) of a section for each i (ranges sorted by lo), nearby ranges read at
        once, and the reads of a remote store made side by side."""
        item = np.dtype(dtype).itemsize
        blocks: list[tuple[int, int, int]] = []  # (first range, first item, end item)
        k = 0
        while k < lo.size:
            top = int(hi[k])
            end = k + 1
            while end < lo.size and (int(lo[end]) - top) * item <= _GAP:
                top = max(top, int(hi[end]))
                end += 1
            blocks.append((k, int(lo[k]), top))
            k = end

        def read(block: tuple[int, int, int]) -> np.ndarray:
            return self._array(section, dtype, block[1], block[2])

        if len(blocks) > 4 and self._whole is None and not isinstance(self.fs, pafs.LocalFileSystem):
            with ThreadPoolExecutor(_READERS) as pool:
                data = list(pool.map(read, blocks))
        else:
            data = [read(b) for b in blocks]
        out: list[np.ndarray] = []
        for b, ((first, start, _), block) in enumerate(zip(blocks, data, strict=True)):
            last = blocks[b + 1][0] if b + 1 < len(blocks) else lo.size
            out.extend(block[int(lo[i]) - start : int(hi[i]) - start] for i in range(first, last))
        return out

    def _prefetch(self, section: str) -> None:
        """Ask for a section of a mapped file to be read ahead, as it will be read whole."""
        if isinstance(self._handle, mmap.mmap):
            start, size = self.sections[section]
            at = (self.base + start) // mmap.PAGESIZE * mmap.PAGESIZE
            self._handle.madvise(mmap.MADV_WILLNEED, at, self.base + start + size - at)

    @property
    def keys(self) -> np.ndarray:
        """The sorted packed keys, read whole on first use (any batch falls all over them)."""
        if self._keys is None:
            self._prefetch("keys")
            self._keys = self._checked("keys", "<u8")
        return self._keys

    def anchors_near(self, values: np.ndarray) -> np.ndarray:
        """The entries of the sorted packed anchors that compare equal to any of `values`, with
        others around them: sorted, read a page at a time."""
        n = self.sections["anchors"][1] // 8
        if n == 0 or values.size == 0:
            return np.zeros(0, np.uint64)
        shift = np.uint64(self.doc_bits)
        top = np.unique(values >> shift)
        lo_val = top << shift
        hi_val = (top + np.uint64(1)) << shift
        first = np.maximum(np.searchsorted(self.anchor_fences, lo_val, side="right") - 1, 0)
        last = np.searchsorted(self.anchor_fences, hi_val, side="left")
        last = np.where(top == (np.uint64(0xFFFFFFFFFFFFFFFF) >> shift), self.anchor_fences.size, last)
        last = np.maximum(last, first + 1)
        pages = np.zeros(self.anchor_fences.size + 1, dtype=np.int64)
        np.add.at(pages, first, 1)
        np.add.at(pages, last, -1)
        wanted = np.flatnonzero(np.cumsum(pages)[:-1] > 0)
        if wanted.size == 0:
            return np.zeros(0, np.uint64)
        # Runs of consecutive pages, each read as one range.
        breaks = np.flatnonzero(np.diff(wanted) > 1)
        starts = wanted[np.concatenate([[0], breaks + 1])] * self.fence
        ends = np.minimum((wanted[np.concatenate([breaks, [wanted.size - 1]])] + 1) * self.fence, n)
        return np.concatenate(self._ranges("anchors", "<u8", starts, ends))

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """How many different texts of the segment hold each of the (source, paragraph) `keys`
        (`boilerplate.LineCounts.lookup`), read a page of `line_keys` at a time."""
        out = np.zeros(keys.size, np.int32)
        n = self.sections["line_keys"][1] // 8 if "line_keys" in self.sections else 0
        if n == 0 or keys.size == 0:
            return out
        page = np.maximum(np.searchsorted(self.line_fences, keys, side="right") - 1, 0)
        wanted = np.unique(page)
        starts, ends = wanted * self.fence, np.minimum((wanted + 1) * self.fence, n)
        found_keys = np.concatenate(self._ranges("line_keys", "<u8", starts, ends))
        found_counts = np.concatenate(self._ranges("line_counts", "<i4", starts, ends))
        pos = np.minimum(np.searchsorted(found_keys, keys), found_keys.size - 1)
        hit = found_keys[pos] == keys
        out[hit] = found_counts[pos[hit]]
        return out

    def rows_of(self, hashes: np.ndarray) -> np.ndarray:
        """Row of each id hash, -1 where absent."""
        if self._ids is None:
            self._prefetch("id_hashes")
            self._ids = (self._checked("id_hashes", "<u8"), self._checked("id_rows", "<i4"))
        sorted_ids, rows = self._ids
        if sorted_ids.size == 0:
            return np.full(hashes.size, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(sorted_ids, hashes), sorted_ids.size - 1)
        return np.where(sorted_ids[pos] == hashes, rows[pos].astype(np.int64), -1)

    def read_rows(self, rows: np.ndarray, schema: pa.Schema) -> pa.Table:
        """The sketch rows (columns of `schema` but `date`) at these row numbers, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        srt = rows[order]
        back = np.empty_like(order)
        back[order] = np.arange(order.size)
        p = self.num_perm
        sigs = self._ranges("signatures", "<u4", srt * p, (srt + 1) * p)
        a_lo, a_hi = self._bounds("anchor_offsets", srt)
        anchors = self._ranges("anchor_values", "<u8", a_lo, a_hi)
        paras = self._ranges("anchor_paras", "<u2", a_lo, a_hi)
        m_lo, m_hi = self._bounds("meta_offsets", srt)
        metas = self._ranges("meta", "u1", m_lo, m_hi)
        idx = back.tolist()
        values = list(zip(*(json.loads(metas[i].tobytes()) for i in idx), strict=True))
        columns: dict[str, Any] = {}
        for k, name in enumerate(self.meta_columns):
            typ = schema.field(name).type
            col = list(values[k]) if values else []
            columns[name] = (
                pa.array(col, pa.int64()).cast(typ) if pa.types.is_timestamp(typ) else pa.array(col, typ)
            )
        columns["signature"] = pa.array([sigs[i].tobytes() for i in idx], pa.binary())
        columns["anchors"] = pa.array([anchors[i].tobytes() for i in idx], pa.binary())
        columns["anchor_paras"] = pa.array([paras[i].tobytes() for i in idx], pa.binary())
        if "para_keys" in self.sections:
            p_lo, p_hi = self._bounds("para_offsets", srt)
            keys = self._ranges("para_keys", "<u4", p_lo, p_hi)
            columns["para_keys"] = pa.array([keys[i].tobytes() for i in idx], pa.binary())
        names = [f.name for f in schema if f.name in columns]
        return pa.table({n: columns[n] for n in names}, schema=pa.schema([schema.field(n) for n in names]))

    def _bounds(self, section: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[lo, hi) of each (sorted) row in a CSR offsets section."""
        pairs = self._ranges(section, "<i8", rows, rows + 2)
        lo = np.array([b[0] for b in pairs], dtype=np.int64)
        hi = np.array([b[1] for b in pairs], dtype=np.int64)
        return lo, hi

    def read_all(self) -> SegmentData:
        """Every row (to merge segments)."""
        p = self.num_perm
        fp = Fingerprints(
            signatures=self._array("signatures", "<u4").reshape(self.rows, p).copy(),
            n_shingles=np.zeros(self.rows, np.int32),
            anchor_offsets=self._array("anchor_offsets", "<i8").copy(),
            anchors=self._array("anchor_values", "<u8").copy(),
            anchor_paras=self._array("anchor_paras", "<u2").copy(),
            content_hashes=np.zeros(self.rows, "S32"),  # in the metadata
            **self._paras(),
        )
        ids = np.empty(self.rows, dtype=np.uint64)
        ids[self._array("id_rows", "<i4")] = self._array("id_hashes", "<u8")
        start, size = self.sections["meta"]
        return SegmentData(
            files=list(self.files),
            file_of_row=self.file_of_row.copy(),
            ids=ids,
            fp=fp,
            meta_columns=list(self.meta_columns),
            meta_offsets=self._array("meta_offsets", "<i8").copy(),
            meta=bytes(self._read(start, size)),
            lines=LineCounts(self._array("line_keys", "<u8").copy(), self._array("line_counts", "<i4").copy())
            if "line_keys" in self.sections
            else LineCounts.empty(),
        )

    def _paras(self) -> dict[str, np.ndarray | None]:
        if "para_keys" not in self.sections:
            return {"para_offsets": None, "para_keys": None}
        return {
            "para_offsets": self._array("para_offsets", "<i8").copy(),
            "para_keys": self._array("para_keys", "<u4").copy(),
        }
