from __future__ import annotations

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash

from dedup.fingerprint import fingerprint, para_words
from dedup.fingerprint_arrays import Fingerprints, hashes_from_hex, hashes_to_hex
from dedup.hashing import shingle_hash32, shingles
from dedup.params import MinHashParams
from dedup.text import paragraphs, words
from tests.corpora.planted import planted_corpus

TEXTS = [
    "Port workers walked out on Tuesday.\n\nThe union said the strike would last a week.",
    "Café owners in Zürich “welcomed” the plan — 3.5% of them, at least.\nA second line.",
    "short",
    "two words",
    "東京の市場。Markets rallied",
    "",
]


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (64, 7)])
def test_signatures_equal_datasketch_leanminhash(num_perm: int, seed: int) -> None:
    params = MinHashParams(num_perm=num_perm, seed=seed)
    texts = TEXTS + [d.text for d in planted_corpus(20, seed=2).docs]
    fp = fingerprint(texts, params)
    for text, sig in zip(texts, fp.signatures, strict=True):
        m = MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash32)
        m.update_batch([s.encode() for s in shingles(text, params.shingle_words)])
        assert np.array_equal(LeanMinHash(m).hashvalues, sig)


def test_same_text_same_signature_other_seed_other_signature() -> None:
    a = fingerprint(TEXTS[:2], MinHashParams(seed=1))
    b = fingerprint(TEXTS[:2], MinHashParams(seed=1))
    c = fingerprint(TEXTS[:2], MinHashParams(seed=2))
    assert np.array_equal(a.signatures, b.signatures)
    assert not np.array_equal(a.signatures, c.signatures)


def test_batch_is_chunking_invariant() -> None:
    texts = [d.text for d in planted_corpus(300, seed=5).docs]
    whole = fingerprint(texts)
    pieces = [fingerprint(texts[i : i + 7]) for i in range(0, len(texts), 7)]
    for i, text in enumerate(texts):
        piece = pieces[i // 7]
        k = i % 7
        assert np.array_equal(whole.signatures[i], piece.signatures[k]), text[:40]
        assert np.array_equal(whole.anchors_of(i)[0], piece.anchors_of(k)[0])
        assert whole.content_hashes[i] == piece.content_hashes[k]


def _exact(a: str, b: str) -> tuple[float, float]:
    sa, sb = set(shingles(a, 3)), set(shingles(b, 3))
    return len(sa & sb) / len(sa | sb), len(sa & sb) / len(sa)


def test_estimates_track_exact_jaccard_and_containment() -> None:
    corpus = planted_corpus(60, copy_rate=1.0, seed=11)
    by_id = {d.id: d for d in corpus.docs}
    pairs = [
        (by_id[c], by_id[corpus.cluster[c]])
        for c, k in corpus.kind.items()
        if k in ("near_duplicate", "expanded", "excerpt")
    ]
    fp = fingerprint([t for a, o in pairs for t in (a.text, o.text)])
    jac_err, con_err = [], []
    for n, (a, o) in enumerate(pairs):
        j_true, c_true = _exact(a.text, o.text)
        j_est = float(np.mean(fp.signatures[2 * n] == fp.signatures[2 * n + 1]))
        an_a, an_o = fp.anchors_of(2 * n)[0], fp.anchors_of(2 * n + 1)[0]
        c_est = np.intersect1d(an_a, an_o).size / max(an_a.size, 1)
        jac_err.append(abs(j_est - j_true))
        con_err.append(abs(c_est - c_true))
    # 128 permutations: standard error <= 0.044; anchors: a quarter of ~700 shingles.
    assert np.mean(jac_err) < 0.05 and max(jac_err) < 0.2
    assert np.mean(con_err) < 0.05 and max(con_err) < 0.2


def test_words_split_on_ascii_and_unicode_punctuation() -> None:
    text = (
        "Hello “World” — it’s 3.5% of U.S.A.\n\nSecond  para\nwrapped line\n\n\n"
        "Third: café «naïve» 東京。日本"
    )
    assert words(text) == [
        ["hello", "world", "it", "s", "3", "5", "of", "u", "s", "a"],
        ["second", "para", "wrapped", "line"],
        ["third", "café", "naïve", "東京", "日本"],
    ]
    assert paragraphs(text)[1] == "Second  para wrapped line"
    # Without blank lines every line is a paragraph (extractor output).
    assert words("One line\nTwo line") == [["one", "line"], ["two", "line"]]


def test_case_spacing_punctuation_do_not_change_content_hash() -> None:
    fp = fingerprint(["The Port, closed!", "the port   closed", "The port opened", ""])
    assert fp.content_hashes[0] == fp.content_hashes[1] != fp.content_hashes[2]
    assert fp.content_hashes[3] == b""
    assert fp.n_shingles.tolist()[3] == 0


def test_arrow_column_gives_the_fingerprints_of_the_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    import dedup.fingerprint as fpmod

    monkeypatch.setattr(fpmod, "_CHUNK_CHARS", 2000)  # several chunks, cut inside each Arrow chunk
    texts = TEXTS[:-1] + [d.text for d in planted_corpus(40, seed=3).docs]
    column = pa.chunked_array([texts[:17], texts[17:]])
    a, b = fingerprint(texts), fingerprint(column)
    assert np.array_equal(a.signatures, b.signatures)
    assert np.array_equal(a.anchor_offsets, b.anchor_offsets)
    assert np.array_equal(a.anchors, b.anchors) and np.array_equal(a.anchor_paras, b.anchor_paras)
    assert np.array_equal(a.content_hashes, b.content_hashes)


def test_consuming_concat_equals_concat_and_empties_the_parts() -> None:
    texts = [d.text for d in planted_corpus(30, seed=4).docs] + [""]
    whole = Fingerprints.concat([fingerprint(texts[:10]), fingerprint(texts[10:])])
    parts = [fingerprint(texts[:10]), fingerprint(texts[10:])]
    joined = Fingerprints.concat(parts, consume=True)
    for name in ("signatures", "n_shingles", "anchor_offsets", "anchors", "anchor_paras", "content_hashes"):
        assert np.array_equal(getattr(whole, name), getattr(joined, name)), name
    assert all(p.anchors.size == 0 and p.signatures.size == 0 for p in parts)


def test_content_hashes_round_trip_through_hex() -> None:
    fp = fingerprint(["The Port, closed!", "", "the port   closed"])
    hexes = hashes_to_hex(fp.content_hashes)
    assert hexes[1] == "" and hexes[0] == hexes[2] and len(hexes[0]) == 64
    assert np.array_equal(hashes_from_hex(hexes), fp.content_hashes)


def test_paragraph_keys_carry_the_words_of_text_of_each_paragraph() -> None:
    text = "\n\n".join(
        [
            "The council voted on Tuesday to close the old bridge for repairs.",
            "(AP Photo/Jane Doe)",
            "* * *",
            "Traffic will be sent through the harbour road until the spring.",
        ]
    )
    same_words = "\n\n".join(
        ["The council voted on Tuesday to close the old bridge for repairs.", "Nothing else."]
    )
    fp = fingerprint([text, same_words])
    assert fp.para_keys is not None and fp.para_offsets is not None
    first, second = (fp.para_keys[fp.para_offsets[i] : fp.para_offsets[i + 1]] for i in range(2))
    # Words of text per paragraph; a photo credit is not text, and a paragraph without words keeps key 0.
    assert para_words(first).tolist() == [12, 0, 0, 11]
    assert first[1] != 0 and first[2] == 0
    # The same paragraph has the same key in any text: a source's repeated lines are still found.
    assert first[0] == second[0] and first[3] != second[1]


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (256, 42), (16, 0)])
def test_permutations_are_datasketchs_affine32_ones(num_perm: int, seed: int) -> None:
    from dedup.minhash import _permutations

    a, b = _permutations(num_perm, seed)
    want = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    assert np.array_equal(a, want[0]) and np.array_equal(b, want[1])


def test_fingerprinting_does_not_import_datasketch() -> None:
    # datasketch imports scipy: most of a fresh worker's first second.
    import subprocess
    import sys

    code = (
        "import sys; from dedup.fingerprint import fingerprint; fingerprint(['a b c d e f']); "
        "assert 'datasketch' not in sys.modules, 'datasketch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
