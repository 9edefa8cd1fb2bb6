"""Small text helpers shared by discovery and extraction: language codes, normalised text, hashes."""

from __future__ import annotations

import hashlib
import re

_LANG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_][a-zA-Z0-9]{1,8})*$")
_SPACES = re.compile(r"\s+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def normalize_language(code: str | None) -> str | None:
    """The primary subtag of a language tag, lowercased (``en-US`` -> ``en``); None if not a tag."""
    if not code:
        return None
    match = _LANG.match(code.strip())
    if match is None:
        return None
    primary = match.group(1).lower()
    return None if primary in ("und", "mul", "zxx", "mis") else primary


def normalize_text(text: str) -> str:
    """Text as compared for exact copies: lowercased, whitespace runs collapsed to one space."""
    return _SPACES.sub(" ", text.lower()).strip()


def content_hash(text: str) -> str:
    """sha256 (hex) of `normalize_text(text)`."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def word_count(text: str) -> int:
    """Words of `text`: whitespace-separated tokens, and one more per two Chinese or Japanese characters.

    Chinese and Japanese put no spaces between words (a 900-character story is a handful of
    tokens); two characters are about a word, so their texts measure like others.
    """
    words = len(text.split())
    if text.isascii():
        return words
    return words + len(_CJK.findall(text)) // 2


def clean_inline(text: str | None, *, limit: int = 1000) -> str | None:
    """A one-line metadata value (title, author): whitespace collapsed, cut to `limit`; None if empty."""
    if text is None:
        return None
    text = _SPACES.sub(" ", text).strip()
    return text[:limit] or None
