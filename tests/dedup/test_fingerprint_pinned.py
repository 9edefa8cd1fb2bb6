"""Every array a fingerprint holds, pinned for a few texts: a faster fingerprint must give the same bytes.
The fast paths of the fingerprint are checked against the plain computations they replace.

The digests were taken from the fingerprint of main at a6a627e (before the speed work of issue 9);
a change that means to change fingerprints (new hashing, new non-text rules) updates them and says
so. Issue 9's word counts in the low 8 bits of the paragraph keys changed those bits alone (every
other array, and the keys' high 24 bits, are a6a627e's). The texts cover both paragraph layouts,
Windows line ends, Unicode punctuation and other scripts, NFKC, non-text lines of each kind, texts
too short for a shingle, and empty ones.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.fingerprint import _nontext, fingerprint
from dedup.fingerprint_arrays import Fingerprints
from dedup.hashing import _word_hashes
from dedup.nontext import FIRST_WORDS
from dedup.params import MinHashParams
from dedup.radix import _among, _doc_major_order, _hashes_of
from dedup.text import _WORD_BYTE, _word_bytes, prepare, split_words

TEXTS = [
    "Port workers walked out on Tuesday.\n\nThe union said the strike would last a week.\n\n"
    "Related: Markets wrap for March 5, 2026\n\nThe ferry operator said services would resume.",
    "The council met on Monday.\nIt voted to reopen the terminal by the end of the month.\n"
    "(AP Photo/Jane Doe)\nBy Staff and wire reports\n"
    "Copyright 2026 The Associated Press. All rights reserved.\n"
    "A trader waits in Porto, Monday, March 2, 2026. (Jane Doe/Reuters)\nThe rest of the story follows here.",
    "Café owners in Zürich \u201cwelcomed\u201d the plan \u2014 3.5% of them, at least.\r\n"
    "A second line\u2026 with \u00abguillemets\u00bb, a\u00a0no-break space and \ufb01ne ligatures."
    "\r\n\r\n\u00a9 2026 Harbor News",
    "東京の市場。Markets rallied、then fell 3 per cent. Москва заявила о новых мерах.",
    "Hard wrapped wire copy runs on\nacross lines of one paragraph\n \nand a blank line\twith a tab\n\n\n"
    "and three newlines, then\x00a NUL byte.",
    "window._taboola = window._taboola || []; _taboola.push({ mode: 'thumbnails-c' });\n"
    "1 / 7\nImage 3 of 7\nFILE - In this March 2, 2026, file photo, the minister arrives.\n"
    "Read more\nADVERTISEMENT\nThe minister said the talks would go on through the night and into Friday.",
    "short",
    "two words",
    "",
    "   \n\n  ",
]

PINNED = {
    "default": "43a6a9f278045d6e3c15f8daabf78abb4088b405d7e11dca49ab5cad968b60ab",
    "k5-p64-s3-a2": "b3e0f0a5229592b21dce1027bd15cf10b6c07fe12146faa444c1230d827106e6",
    "words": "3fc25f719eccd1fde68d7b48e8699d015d31635cc81a16342ee59b6c6008553f",
}
PARAMS = {
    "default": MinHashParams(),
    "k5-p64-s3-a2": MinHashParams(shingle_words=5, num_perm=64, seed=3, anchor_rate=0.5),
}


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name, a in arrays.items():
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _fp_digest(fp: Fingerprints) -> str:
    names = ("signatures", "n_shingles", "anchor_offsets", "anchors", "anchor_paras", "content_hashes")
    return _digest({n: np.asarray(getattr(fp, n)) for n in (*names, "para_offsets", "para_keys")})


def _words_digest(texts: list[str]) -> str:
    """The word split of the batch, and which of its lines are not text."""
    w = split_words(texts)
    arrays = {n: getattr(w, n) for n in ("data", "starts", "ends", "doc", "para", "line")}
    arrays["nontext"] = _nontext(w, _word_hashes(w.data, w.starts, w.ends))
    return _digest(arrays)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_fingerprint_arrays_are_the_pinned_bytes(name: str) -> None:
    assert _fp_digest(fingerprint(TEXTS, PARAMS[name])) == PINNED[name]
    # One text at a time (other chunks, other batch offsets) gives the same bytes.
    one_by_one = Fingerprints.concat([fingerprint([t], PARAMS[name]) for t in TEXTS])
    assert _fp_digest(one_by_one) == PINNED[name]


def test_word_split_and_non_text_lines_are_the_pinned_bytes() -> None:
    assert _words_digest(TEXTS) == PINNED["words"]


def test_word_bytes_by_comparison_equal_the_table() -> None:
    every = np.arange(256, dtype=np.uint8)
    assert np.array_equal(_word_bytes(every), _WORD_BYTE)


def test_radix_order_of_anchors_equals_lexsort() -> None:
    rng = np.random.default_rng(5)
    values = rng.integers(0, 1 << 63, 5000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    values[::4] = values[1::4]  # repeats within a text keep their positions' order
    values[::9] = np.uint64(3) << np.uint64(40)  # ties in the high digits
    docs = np.sort(rng.integers(0, 40, values.size))
    assert np.array_equal(_doc_major_order(values, docs, 40), np.lexsort((values, docs)))
    assert np.array_equal(_doc_major_order(values, docs, 1 << 17), np.lexsort((values, docs)))


def test_bitmap_lookup_of_words_equals_isin() -> None:
    w = split_words(["by the photo file from reuters related byline bypass " * 50])
    wh = _word_hashes(w.data, w.starts, w.ends)
    words = _hashes_of(tuple(FIRST_WORDS))
    rng = np.random.default_rng(1)
    values = np.concatenate([wh, rng.integers(0, 1 << 63, 20000, dtype=np.int64).astype(np.uint64)])
    values[-1] = words[0][0] ^ np.uint64(1 << 40)  # same low bits as a word, another hash
    expected = np.isin(values, words[0])
    assert expected[: wh.size].any()
    assert np.array_equal(_among(values, words), expected)


def _plain_split(texts: list[str]) -> dict[str, np.ndarray]:
    """The word split as one cumulative count over every byte (what the fast split replaces)."""
    encoded = [prepare(t).encode() for t in texts]
    data = np.frombuffer(b"\n".join(encoded) + b"\n", dtype=np.uint8)
    doc_start = np.concatenate([[0], np.cumsum([len(e) + 1 for e in encoded])]).astype(np.int64)
    mask = _WORD_BYTE[data]
    for i in range(data.size - 1):  # the punctuation cleared by _word_mask, byte by byte
        lead, after = int(data[i]), int(data[i + 1])
        if lead == 0xC2 and after >= 0xA0:
            mask[i : i + 2] = False
        if i + 2 < data.size and (
            (lead == 0xE2 and after in (0x80, 0x81)) or (lead == 0xE3 and after == 0x80)
        ):
            mask[i : i + 3] = False
    edges = np.diff(mask.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    newlines = np.concatenate([[0], np.cumsum(data == 10)])
    doc = np.searchsorted(doc_start, starts, side="right") - 1
    line = newlines[starts]
    return {"starts": starts, "ends": ends, "doc": doc, "para": line - newlines[doc_start[doc]], "line": line}


_PIECES = [
    "word",
    "Word",
    " ",
    "\n",
    "\n\n",
    "\r\n",
    "\t",
    "\u2014",
    "\u201c",
    "\u00a0",
    "\u00ab",
    "\u3002",
    "é",
    "東京",
    "\u00a9",
    "_",
    "3.5",
    ",",
    "\x00",
    "\ufb01",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join), max_size=6))
def test_word_split_equals_the_plain_split(texts: list[str]) -> None:
    w = split_words(texts)
    for name, expected in _plain_split(texts).items():
        got = getattr(w, name)
        assert got.dtype == np.int64 and np.array_equal(got, expected), name
