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
from typing import Any

PARA = "\n\n"
_TOKEN = re.compile(r"\s*\n\s*|\S+")
#: A rewrite of more words than this is shown as text not kept and text added, not as one edit.
MAX_EDIT_WORDS = 12


def tokens(text: str) -> list[str]:
    """Words of `text`, each paragraph break (a line break, blank lines or not) as one `PARA` token."""
    return [PARA if "\n" in t else t for t in _TOKEN.findall(text.strip())]


def _key(token: str) -> str:
    return token.lower().strip(".,;:!?\"'“”‘’()[]") or token


def diff(original: list[str], copy: list[str]) -> list[list[Any]]:
    """The operations that turn the `original` tokens into the `copy` tokens (see the module doc)."""
    matcher = SequenceMatcher(None, [_key(t) for t in original], [_key(t) for t in copy], autojunk=False)
    ops: list[list[Any]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(["=", i1, i2])
        elif tag == "insert":
            ops.append(["+", _join(copy[j1:j2])])
        elif tag == "delete":
            ops.append(["-", i1, i2])
        elif max(i2 - i1, j2 - j1) <= MAX_EDIT_WORDS:
            ops.append(["~", i1, i2, _join(copy[j1:j2])])
        else:
            ops.append(["-", i1, i2])
            ops.append(["+", _join(copy[j1:j2])])
    return _merge(ops)


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
