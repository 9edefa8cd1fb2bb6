"""Reading lookup segments (the file format is in `dedup.lookup_format`): a batch reads only the
little it needs.

Looking a batch up reads the header, the fences, the counts and the keys (the batch's anchors
fall everywhere in them), and only the pages of `anchors` where the batch's keys fall (256
entries each, adjacent pages read together); a candidate is then read by row from its sections
(signature, anchors, metadata, paragraphs); the boilerplate counts of the lines a batch compares
are read a page at a time like the anchors. Every read is a range read
(`RandomAccessFile.read_at`), on a local folder as on S3.
"""

from __future__ import annotations

import json
import mmap
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs

from common.storage import _translate
from dedup.boilerplate import LineCounts
from dedup.errors import IndexStateError
from dedup.fingerprint_arrays import Fingerprints
from dedup.lookup_format import MAGIC, SegmentData

_GAP = 1 << 16  # byte gap under which two ranges are read as one
_WHOLE = 8 << 20  # files up to this size are read whole
_READERS = 32  # range reads in flight at once on a remote store


def _map(path: str) -> mmap.mmap:
    """A local file mapped for random reads: a page is read when touched, without read-ahead
    (which would read far more than the few pages a lookup touches)."""
    with open(path, "rb") as fh:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    mapped.madvise(mmap.MADV_RANDOM)
    return mapped


def _broken(path: str, why: str) -> IndexStateError:
    return IndexStateError(
        f"the lookup segment {path} is damaged: {why}. Delete it: the next run rebuilds it from the "
        "sketch files it covered (or call DedupIndex.build_lookups() to do it now)"
    )


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
