"""A copy set against its original, word by word, in a form the cluster page draws.

The texts are cut into words with the line breaks between paragraphs kept as tokens, so a copy that breaks its
paragraphs elsewhere still lines up. The result is a list of operations on the copy:

    ["=", i, j]           words i..j of the original, kept as they were (sent as offsets, not text)
    ["+", "text"]         text the copy adds (an explainer, a new lede): drawn as added
    ["-", i, j]           words i..j of the original the copy does not have: drawn as not kept
    ["~", i, j, "text"]   words i..j of the original, rewritten as "text": drawn as an edit

so the page holds the original's words once and each copy's own words only.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

PARA = "\n\n"
_TOKEN = re.compile(r"\s*\n\s*|\S+")
#: A rewrite of more words than this is shown as text not kept and text added, not as one edit.
MAX_EDIT_WORDS = 12


def tokens(text: str) -> list[str]:
    """Words of `text`, each paragraph break (a line break, blank lines or not) as one `PARA` token."""
    return [PARA if "\n" in t else t for t in _TOKEN.findall(text.strip())]


@lru_cache(maxsize=1 << 16)
def _key(token: str) -> str:
    """What a token is compared by: case and the punctuation around it aside."""
    if token == PARA:
        return PARA
    return token.lower().strip(".,;:!?\"'“”‘’()[]") or token


def keys(words: list[str]) -> list[str]:
    """What each token is compared by (see `_key`)."""
    return [_key(t) for t in words]


def diff(original: list[str], copy: list[str], *, original_keys: list[str] | None = None) -> list[list[Any]]:
    """The operations that turn the `original` tokens into the `copy` tokens (see the module doc).

    Paragraphs are matched first, whole, and words only inside the paragraphs that differ: a copy
    shares most of its paragraphs with its original, so this costs little more than reading both.
    """
    okeys = original_keys if original_keys is not None else keys(original)
    ckeys = keys(copy)
    ospans, cspans = _paragraphs(okeys), _paragraphs(ckeys)
    by_paragraph = SequenceMatcher(
        None, [tuple(okeys[a:b]) for a, b in ospans], [tuple(ckeys[a:b]) for a, b in cspans], autojunk=False
    )
    ops: list[list[Any]] = []
    for tag, p1, p2, q1, q2 in by_paragraph.get_opcodes():
        i1, i2 = _bounds(ospans, p1, p2, len(original))
        j1, j2 = _bounds(cspans, q1, q2, len(copy))
        if tag == "replace":
            ops.extend(_words(okeys, ckeys, copy, i1, i2, j1, j2))
        else:
            ops.extend(_op(tag, copy, i1, i2, j1, j2))
    return _merge(ops)


def _paragraphs(keys: list[str]) -> list[tuple[int, int]]:
    """Token spans of the paragraphs, each with the break that ends it."""
    spans, start = [], 0
    for i, key in enumerate(keys):
        if key == PARA:
            spans.append((start, i + 1))
            start = i + 1
    if start < len(keys):
        spans.append((start, len(keys)))
    return spans


def _bounds(spans: list[tuple[int, int]], p1: int, p2: int, size: int) -> tuple[int, int]:
    start = spans[p1][0] if p1 < len(spans) else size
    return start, (spans[p2 - 1][1] if p2 > p1 else start)


def _words(
    okeys: list[str], ckeys: list[str], copy: list[str], i0: int, i9: int, j0: int, j9: int
) -> list[list[Any]]:
    """Word by word, the original's tokens i0..i9 against the copy's j0..j9."""
    matcher = SequenceMatcher(None, okeys[i0:i9], ckeys[j0:j9], autojunk=False)
    ops: list[list[Any]] = []
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        ops.extend(_op(tag, copy, i0 + a1, i0 + a2, j0 + b1, j0 + b2))
    return ops


def _op(tag: str, copy: list[str], i1: int, i2: int, j1: int, j2: int) -> list[list[Any]]:
    """The operations for one difflib opcode: original tokens i1..i2 against the copy's j1..j2."""
    if tag == "equal":
        return [["=", i1, i2]]
    if tag == "insert":
        return [["+", _join(copy[j1:j2])]]
    if tag == "delete":
        return [["-", i1, i2]]
    if max(i2 - i1, j2 - j1) <= MAX_EDIT_WORDS:
        return [["~", i1, i2, _join(copy[j1:j2])]]
    return [["-", i1, i2], ["+", _join(copy[j1:j2])]]


def _merge(ops: list[list[Any]]) -> list[list[Any]]:
    """Join neighbouring operations of one kind (a paragraph break between two additions)."""
    out: list[list[Any]] = []
    for op in ops:
        last = out[-1] if out else None
        if last and last[0] == op[0] == "+":
            last[1] = _join([last[1], op[1]])
        elif last and last[0] == op[0] and op[0] in "=-" and last[2] == op[1]:
            last[2] = op[2]
        else:
            out.append(op)
    return out


def _join(words: list[str]) -> str:
    return " ".join(words).replace(f" {PARA} ", PARA).replace(f"{PARA} ", PARA).replace(f" {PARA}", PARA)


def summary(ops: list[list[Any]], original: list[str]) -> dict[str, int]:
    """Words of the original kept, not kept and edited, and words added: the member's header line."""
    counts = {"kept": 0, "added": 0, "dropped": 0, "edited": 0}
    names = {"=": "kept", "-": "dropped", "~": "edited"}
    for op in ops:
        if op[0] == "+":
            counts["added"] += sum(1 for w in tokens(op[1]) if w != PARA)
        else:
            counts[names[op[0]]] += sum(1 for w in original[op[1] : op[2]] if w != PARA)
    return counts
