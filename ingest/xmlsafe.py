"""Guards for untrusted XML documents (feeds, sitemaps): gzip by magic bytes, no entity declarations.

An XML document that declares entities can expand a few hundred bytes into gigabytes (the
"billion laughs"); feeds and sitemaps have no need for them, so such documents are refused
before any parser sees them. Gzip is recognised by its magic bytes (servers rarely label
``sitemap.xml.gz`` correctly) and unpacked with a bound on the output.
"""

from __future__ import annotations

import codecs
import re
import zlib

from ingest.errors import BadFeed

GZIP_MAGIC = b"\x1f\x8b"
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


def maybe_gunzip(data: bytes, *, max_bytes: int, what: str) -> bytes:
    """`data` unpacked if it is gzip (every member), else as is.

    Raises:
        BadFeed: a corrupt gzip stream, or one unpacking to more than `max_bytes`.
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    out: list[bytes] = []
    size = 0
    rest = data
    try:
        while rest.startswith(GZIP_MAGIC):
            unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            chunk = unpacker.decompress(rest, max_bytes + 1 - size)
            size += len(chunk)
            out.append(chunk)
            if size > max_bytes or unpacker.unconsumed_tail:
                raise BadFeed(f"{what} unpacks to more than {max_bytes} bytes")
            if not unpacker.eof:
                raise BadFeed(f"{what}: truncated gzip stream")
            rest = unpacker.unused_data.lstrip(b"\x00")
    except zlib.error as exc:
        raise BadFeed(f"{what}: corrupt gzip stream ({exc})") from exc
    return b"".join(out)


def refuse_entity_declarations(data: bytes, *, what: str) -> None:
    """Raise `BadFeed` if the document's DTD declares entities (XML bombs, external entities).

    Entity declarations are only valid inside a DTD, so an ``<!ENTITY`` after a ``<!DOCTYPE`` is
    taken as one, without trying to parse the DTD (which is where the attacks hide).
    """
    data = _utf8_view(data)
    doctype = _DOCTYPE.search(data)
    if doctype is not None and _ENTITY.search(data, doctype.end()):
        raise BadFeed(f"{what} declares XML entities in its DTD; refused (possible XML bomb)")


def _utf8_view(data: bytes) -> bytes:
    """`data` re-encoded as UTF-8 when it is UTF-16 or UTF-32, so byte patterns can be searched."""
    head = data[:4]
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
        (b"<\x00?\x00", "utf-16-le"),
        (b"\x00<\x00?", "utf-16-be"),
    ):
        if head.startswith(bom):
            return data.decode(codec, errors="replace").encode("utf-8")
    return data
