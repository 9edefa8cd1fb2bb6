"""HTML bytes to text: a byte-order mark, the Content-Type charset, <meta charset>, then detection.

A declared charset is trusted only if the body decodes under it; pages that lie about their
charset (common: ``utf-8`` declared, windows-1252 sent) fall through to the next clue. As browsers
do (WHATWG Encoding), ``iso-8859-1`` and ``ascii`` labels are read as windows-1252. Decoding never
fails: the last resort replaces undecodable bytes.
"""

from __future__ import annotations

import codecs
import logging
import re

log = logging.getLogger(__name__)

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_WHATWG_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "windows-1252": "cp1252",
    "x-sjis": "shift_jis",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
}


def html_content_type(headers: dict[str, str]) -> str:
    """The media type of a response (``text/html``), lowercased, or ``""`` when none was sent."""
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return value.split(";", 1)[0].strip().lower()


def header_charset(headers: dict[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    match = _HEADER_CHARSET.search(value)
    return match.group(1) if match else None


def meta_charset(body: bytes) -> str | None:
    """The charset a page declares in ``<meta charset>`` or ``http-equiv`` (first 4 KiB, as browsers do)."""
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii") if match else None


def codec_for(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None if the label names no known codec."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _WHATWG_ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    # base64, rot13, zlib...: codecs Python knows, but not text encodings (bytes.decode refuses them)
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_html(body: bytes, *, declared: str | None = None) -> tuple[str, str]:
    """Decode `body`; returns (text, codec used). `declared` is the Content-Type charset, if any."""
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_codec, errors="replace"), bom_codec
    tried: list[str] = []
    for label in (declared, meta_charset(body)):
        codec = codec_for(label)
        if codec is None or codec in tried:
            continue
        tried.append(codec)
        try:
            return body.decode(codec), codec
        except UnicodeDecodeError:
            log.debug("body does not decode as declared %s", codec)
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    detected = codec_for(best.encoding) if best is not None else None
    fallback = detected or (tried[0] if tried else "cp1252")
    return body.decode(fallback, errors="replace"), fallback
