"""Bounded work per text: only the first `MAX_TEXT_CHARS` characters of a text are fingerprinted."""

from __future__ import annotations

import numpy as np

from dedup.fingerprint import MAX_TEXT_CHARS, fingerprint


def test_a_huge_text_is_fingerprinted_on_its_first_characters() -> None:
    rng = np.random.default_rng(5)
    words = [f"w{n}" for n in rng.integers(0, 50_000, size=MAX_TEXT_CHARS // 2)]
    head = " ".join(words)[:MAX_TEXT_CHARS]
    huge = head + " tail" * (MAX_TEXT_CHARS // 2)  # twice the cap
    capped, whole = fingerprint([huge, head]), fingerprint([head])
    assert np.array_equal(capped.signatures[0], whole.signatures[0])
    assert bytes(capped.content_hashes[0]) == bytes(whole.content_hashes[0])
