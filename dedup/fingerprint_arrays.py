"""The fingerprints of a batch of texts as flat arrays (`Fingerprints`): taking rows, joining
batches, and the content hashes as the index stores them. `dedup.fingerprint` makes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NO_WORDS = bytes(32)  # the content hash of a text without words (or with nothing but boilerplate)


@dataclass(slots=True)
class Fingerprints:
    """Fingerprints of n texts, as flat arrays (CSR-style offsets for the anchor lists)."""

    signatures: np.ndarray  # (n, num_perm) uint32
    n_shingles: np.ndarray  # (n,) int32
    anchor_offsets: np.ndarray  # (n + 1,) int64
    anchors: np.ndarray  # (sum,) uint64, sorted within each text
    anchor_paras: np.ndarray  # (sum,) uint16: paragraph index of each anchor
    content_hashes: np.ndarray  # (n,) "S32": sha256 of the normalised text; all zero bytes without words
    #: Each text's paragraphs, as 32-bit hashes of their words (0: a paragraph without words),
    #: CSR-style: paragraph k of text i is `para_keys[para_offsets[i] + k]`. They find the lines a
    #: source repeats across its articles (dedup.boilerplate).
    para_offsets: np.ndarray | None = None  # (n + 1,) int64
    para_keys: np.ndarray | None = None  # (sum,) uint32
    #: Set once boilerplate is stripped (dedup.boilerplate.strip): which paragraph entries were.
    boiler: np.ndarray | None = None  # (sum,) bool, aligned with para_keys

    def __len__(self) -> int:
        return len(self.content_hashes)

    def anchors_of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.anchor_offsets[i], self.anchor_offsets[i + 1]
        return self.anchors[lo:hi], self.anchor_paras[lo:hi]

    def take(self, rows: Sequence[int]) -> Fingerprints:
        """The fingerprints of the given rows, in that order."""
        idx = np.asarray(rows, dtype=np.int64)
        lo, hi = self.anchor_offsets[idx], self.anchor_offsets[idx + 1]
        counts = hi - lo
        offsets = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        flat = np.repeat(lo - offsets[:-1], counts) + np.arange(int(offsets[-1]))
        para_offsets, para_keys = None, None
        if self.para_offsets is not None and self.para_keys is not None:
            para_offsets, para_keys = _take_csr(self.para_offsets, self.para_keys, idx)
        return Fingerprints(
            signatures=self.signatures[idx],
            n_shingles=self.n_shingles[idx],
            anchor_offsets=offsets,
            anchors=self.anchors[flat],
            anchor_paras=self.anchor_paras[flat],
            content_hashes=self.content_hashes[idx],
            para_offsets=para_offsets,
            para_keys=para_keys,
        )

    @staticmethod
    def concat(parts: Sequence[Fingerprints], *, consume: bool = False) -> Fingerprints:
        """The parts one after the other. With `consume`, each part's arrays are released as soon
        as they are copied (the parts are left empty), so the whole table is never held twice."""
        if len(parts) == 1:
            return parts[0]
        sizes = [int(p.anchor_offsets[-1]) for p in parts]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        offsets = [np.asarray(p.anchor_offsets[:-1]) + s for p, s in zip(parts, starts, strict=True)]
        offsets.append(np.array([sum(sizes)], dtype=np.int64))
        paras = _concat_paras(parts)  # before `consume` empties the parts
        return Fingerprints(
            signatures=_join(parts, "signatures", consume),
            n_shingles=_join(parts, "n_shingles", consume),
            anchor_offsets=np.concatenate(offsets),
            anchors=_join(parts, "anchors", consume),
            anchor_paras=_join(parts, "anchor_paras", consume),
            content_hashes=_join(parts, "content_hashes", consume),
            **paras,
        )

    def boilerplate_of(self, i: int) -> np.ndarray:
        """Indices of text i's paragraphs stripped as boilerplate."""
        if self.boiler is None or self.para_offsets is None:
            return np.zeros(0, np.int64)
        return np.flatnonzero(self.boiler[self.para_offsets[i] : self.para_offsets[i + 1]])


def _take_csr(offsets: np.ndarray, values: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = offsets[idx], offsets[idx + 1]
    counts = hi - lo
    out = np.zeros(idx.size + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    flat = np.repeat(lo - out[:-1], counts) + np.arange(int(out[-1]))
    return out, values[flat]


def _concat_paras(parts: Sequence[Fingerprints]) -> dict[str, np.ndarray | None]:
    """Paragraph keys of `parts` joined; texts of a part without them get no paragraphs."""
    if all(p.para_offsets is None for p in parts):
        return {"para_offsets": None, "para_keys": None}
    offsets: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    start = 0
    for p in parts:
        if p.para_offsets is None or p.para_keys is None:
            offsets.append(np.full(len(p), start, dtype=np.int64))
            continue
        offsets.append(np.asarray(p.para_offsets[:-1]) + start)
        keys.append(p.para_keys)
        start += int(p.para_offsets[-1])
    offsets.append(np.array([start], dtype=np.int64))
    return {
        "para_offsets": np.concatenate(offsets),
        "para_keys": np.concatenate(keys) if keys else np.zeros(0, np.uint32),
    }


def _join(parts: Sequence[Fingerprints], name: str, consume: bool) -> np.ndarray:
    """`np.concatenate` of one array field of the parts, copied part by part into one new array
    (with `consume`, each part's array is dropped once copied)."""
    arrays = [getattr(p, name) for p in parts]
    dtype = np.result_type(*{a.dtype for a in arrays})
    out = np.empty((sum(a.shape[0] for a in arrays), *arrays[0].shape[1:]), dtype=dtype)
    del arrays
    at = 0
    for p in parts:
        a = getattr(p, name)
        out[at : at + a.shape[0]] = a
        at += a.shape[0]
        if consume:
            setattr(p, name, np.empty((0, *a.shape[1:]), dtype=a.dtype))
        del a
    return out


def hashes_to_hex(hashes: np.ndarray) -> list[str]:
    """Content hashes as hex strings ("" for a text without words), as the index stores them."""
    raw = hashes.view(np.uint8).reshape(-1, 32)
    text = raw.tobytes().hex()
    has_words: list[bool] = np.any(raw, axis=1).tolist()
    return [text[64 * i : 64 * i + 64] if w else "" for i, w in enumerate(has_words)]


def hashes_from_hex(hexes: Sequence[str | None]) -> np.ndarray:
    """`hashes_to_hex` read back."""
    return np.frombuffer(bytes.fromhex("".join(h or NO_WORDS.hex() for h in hexes)), dtype="S32").copy()
