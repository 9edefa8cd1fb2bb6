"""Sitemaps -> `PageRef`s: ``urlset`` (with Google News fields), ``sitemapindex``, and text sitemaps.

Parsed with defusedxml: no DTD entity is expanded, no external resource is read, and a document
declaring entities is refused as a whole. Elements are matched by local name, so sitemaps that
forget their namespace still read. A gzip body (``.xml.gz``) is recognised by its magic bytes.

The date of a ref is the Google News ``news:publication_date`` when present, else ``lastmod``
(a modification time, the best hint a plain sitemap gives).
"""

from __future__ import annotations

from typing import Any

from ingest.errors import BadFeed
from ingest.feeds import Parsed
from ingest.records import PageRef
from ingest.text import clean_inline, normalize_language
from ingest.timeutil import parse_datetime
from ingest.urls import is_http_url, source_for
from ingest.xmlsafe import maybe_gunzip, refuse_entity_declarations

#: Largest sitemap accepted after gunzip (the sitemaps.org limit).
MAX_SITEMAP_BYTES = 50 * 1024 * 1024


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _child(elem: Any, name: str) -> Any | None:
    for sub in elem:
        if _local(sub.tag) == name:
            return sub
    return None


def _text(elem: Any, *path: str) -> str | None:
    for name in path:
        if elem is None:
            return None
        elem = _child(elem, name)
    if elem is None or elem.text is None:
        return None
    return elem.text.strip() or None


def parse_sitemap(data: bytes, *, url: str) -> Parsed:
    """Parse one sitemap document fetched from `url`.

    Returns the pages of a ``urlset`` (`Parsed.refs`) or the child sitemaps of a
    ``sitemapindex`` (`Parsed.children`); entries without a usable ``loc`` go to `Parsed.skipped`.

    Raises:
        BadFeed: not a sitemap, not well-formed, declares entities, or a corrupt gzip stream.
    """
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    data = maybe_gunzip(data, max_bytes=MAX_SITEMAP_BYTES, what=url)
    refuse_entity_declarations(data, what=url)
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"http://", b"https://")):
        return _parse_text_sitemap(data, url=url)
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise BadFeed(f"{url}: refused ({type(exc).__name__}: {exc})") from exc
    except (ParseError, ValueError) as exc:
        raise BadFeed(f"{url} is not well-formed XML: {exc}") from exc
    kind = _local(root.tag)
    out = Parsed()
    if kind == "sitemapindex":
        for elem in root:
            if _local(elem.tag) != "sitemap":
                continue
            loc = _absolute(_text(elem, "loc"), url)
            if loc is None:
                out.skipped.append(
                    (_text(elem, "loc") or "(no loc)", f"sitemap entry in {url} has no http(s) loc")
                )
                continue
            out.children.append((loc, parse_datetime(_text(elem, "lastmod"))))
        return out
    if kind != "urlset":
        raise BadFeed(f"{url} is not a sitemap (root element <{kind}>)")
    for elem in root:
        if _local(elem.tag) != "url":
            continue
        loc = _absolute(_text(elem, "loc"), url)
        if loc is None:
            out.skipped.append((_text(elem, "loc") or "(no loc)", f"url entry in {url} has no http(s) loc"))
            continue
        news = _child(elem, "news")
        published = parse_datetime(_text(news, "publication_date")) if news is not None else None
        out.refs.append(
            PageRef(
                url=loc,
                source=source_for(loc),
                discovered_from=url,
                title=clean_inline(_text(news, "title")) if news is not None else None,
                published_at=published or parse_datetime(_text(elem, "lastmod")),
                language=normalize_language(_text(news, "publication", "language"))
                if news is not None
                else None,
            )
        )
    return out


def _absolute(loc: str | None, base: str) -> str | None:
    """`loc` if it is an absolute http(s) URL, as the sitemaps protocol requires (no guessing)."""
    if not loc:
        return None
    loc = loc.strip()
    return loc if is_http_url(loc) else None


def _parse_text_sitemap(data: bytes, *, url: str) -> Parsed:
    """A text sitemap: one URL per line (sitemaps.org allows it)."""
    out = Parsed()
    for line in data.decode("utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        if is_http_url(line):
            out.refs.append(PageRef(url=line, source=source_for(line), discovered_from=url))
        else:
            out.skipped.append((line[:200], f"line of text sitemap {url} is not an http(s) URL"))
    return out
