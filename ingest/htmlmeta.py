"""Metadata a page states about itself: JSON-LD, <meta> tags, <link rel=canonical>, <time>, <html lang>.

trafilatura finds titles and authors well, but its dates go through htmldate, which returns the
day only; a news page usually states the full time with its zone (JSON-LD ``datePublished``,
``article:published_time``), and that is what orders copies of a story. So the published time is
read here, zone-bearing sources first: a time that states its zone beats one that does not.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from ingest.text import clean_inline, normalize_language
from ingest.timeutil import has_zone, parse_datetime
from ingest.urls import is_http_url

log = logging.getLogger(__name__)

ARTICLE_TYPES = frozenset(
    t.lower()
    for t in (
        "Article",
        "NewsArticle",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "AskPublicNewsArticle",
        "BlogPosting",
        "LiveBlogPosting",
        "Report",
        "TechArticle",
        "ScholarlyArticle",
        "SocialMediaPosting",
    )
)
_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "article.published",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "publication_date",
    "sailthru.date",
    "parsely-pub-date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "dc.date",
    "date",
)
_LANGUAGE_META = ("content-language", "language", "dc.language", "dcterms.language", "og:locale")


@dataclass(slots=True)
class PageMeta:
    """What the page's markup says about the article (None where it says nothing)."""

    canonical_url: str | None = None
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    published_zoned: bool = False
    site_name: str | None = None
    language: str | None = None
    description: str | None = None
    #: the JSON-LD ``articleBody`` (or ``text``) the publisher states, tags stripped
    article_body: str | None = None
    #: what the page says it is: ``og:type`` and the JSON-LD ``@type``s, lower case
    declared_types: set[str] = field(default_factory=set)


def read_meta(tree: Any, *, url: str) -> PageMeta:
    """Read `PageMeta` from an lxml HTML tree of the page fetched at `url`."""
    meta = _meta_tags(tree)
    blocks = list(_jsonld_blocks(tree))
    ld = [obj for data in blocks for obj in _walk_articles(data, depth=0)]
    out = PageMeta()
    out.declared_types = {t for data in blocks for t in _walk_types(data, depth=0)}
    if meta.get("og:type"):
        out.declared_types.add(meta["og:type"].lower())
    out.article_body = _first(_plain(_ld_str(o.get("articleBody")) or _ld_str(o.get("text"))) for o in ld)
    out.canonical_url = _canonical(tree, meta, url)
    out.title = clean_inline(_first(_ld_str(o.get("headline")) for o in ld) or meta.get("og:title"))
    out.author = clean_inline(_first(_ld_name(o.get("author")) for o in ld) or _not_url(meta.get("author")))
    out.site_name = clean_inline(
        meta.get("og:site_name")
        or _first(_ld_name(o.get("publisher")) for o in ld)
        or meta.get("application-name")
    )
    out.description = clean_inline(meta.get("og:description") or meta.get("description"), limit=2000)
    out.language = _language(tree, meta, ld)
    candidates = [_ld_str(o.get("datePublished")) for o in ld] + [_ld_str(o.get("dateCreated")) for o in ld]
    candidates += [meta.get(key) for key in _PUBLISHED_META]
    candidates += _time_elements(tree)
    out.published_at, out.published_zoned = _best_date(candidates)
    return out


def canonical_url(tree: Any, *, url: str) -> str | None:
    """The page's ``<link rel=canonical>`` or ``og:url``, made absolute against `url`; None if none."""
    return _canonical(tree, _meta_tags(tree), url)


def _first(values: Any) -> str | None:
    return next((v for v in values if v), None)


def _not_url(value: str | None) -> str | None:
    return None if value is None or value.startswith(("http://", "https://")) else value


def _meta_tags(tree: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for elem in tree.iter("meta"):
        key = elem.get("property") or elem.get("name") or elem.get("itemprop") or elem.get("http-equiv")
        value = elem.get("content")
        if key and value and value.strip():
            found.setdefault(key.strip().lower(), value.strip())
    return found


def _canonical(tree: Any, meta: dict[str, str], url: str) -> str | None:
    hrefs: list[str] = [
        link.get("href")
        for link in tree.iter("link")
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href")
    ]
    for href in [*hrefs, meta.get("og:url")]:
        if href:
            absolute = urljoin(url, href.strip()) if is_http_url(url) else href.strip()
            if is_http_url(absolute):
                return absolute
    return None


def _jsonld_blocks(tree: Any) -> Iterator[Any]:
    """The parsed JSON-LD blocks of the page (unparseable ones skipped)."""
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = (script.text or "").strip()
        raw = re.sub(r"^\s*(<!--|<!\[CDATA\[)|(-->|\]\]>)\s*$", "", raw)
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            log.debug("unparseable JSON-LD block skipped")
            continue
        yield data


def _walk_types(data: Any, *, depth: int) -> Iterator[str]:
    """The ``@type``s of JSON-LD objects, at the top, in ``@graph`` and in ``mainEntity``."""
    if depth > 6:
        return
    if isinstance(data, list):
        for item in data:
            yield from _walk_types(item, depth=depth + 1)
        return
    if not isinstance(data, dict):
        return
    types = data.get("@type")
    yield from (t.lower() for t in (types if isinstance(types, list) else [types]) if isinstance(t, str))
    for key in ("@graph", "mainEntity"):
        if key in data:
            yield from _walk_types(data[key], depth=depth + 1)


def _plain(text: str | None) -> str | None:
    """`text` without HTML tags (some publishers put markup in ``articleBody``)."""
    if not text or "<" not in text:
        return text
    import lxml.etree
    import lxml.html

    try:
        return lxml.html.fromstring(f"<div>{text}</div>").text_content().strip() or None
    except (ValueError, lxml.etree.ParserError):
        return None


def _walk_articles(data: Any, *, depth: int) -> Iterator[dict[str, Any]]:
    if depth > 6:
        return
    if isinstance(data, list):
        for item in data:
            yield from _walk_articles(item, depth=depth + 1)
        return
    if not isinstance(data, dict):
        return
    types = data.get("@type")
    type_set = {t.lower() for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)}
    if type_set & ARTICLE_TYPES:
        yield data
    for key in ("@graph", "mainEntity", "mainEntityOfPage"):
        if key in data:
            yield from _walk_articles(data[key], depth=depth + 1)


def _ld_str(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@value")
    return str(value).strip() if isinstance(value, (str, int, float)) and str(value).strip() else None


def _ld_name(value: Any) -> str | None:
    if isinstance(value, list):
        names = [n for n in (_ld_name(v) for v in value) if n]
        return ", ".join(dict.fromkeys(names)) or None
    if isinstance(value, dict):
        return _ld_str(value.get("name"))
    return _not_url(_ld_str(value))


def _language(tree: Any, meta: dict[str, str], ld: list[dict[str, Any]]) -> str | None:
    candidates: list[str | None] = []
    for obj in ld:
        lang = obj.get("inLanguage")
        candidates.append(_ld_str(lang) if not isinstance(lang, dict) else _ld_str(lang.get("alternateName")))
    candidates.append(tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang"))
    candidates += [meta.get(key) for key in _LANGUAGE_META]
    for candidate in candidates:
        lang = normalize_language(candidate.split(",")[0] if candidate else None)
        if lang:
            return lang
    return None


def _time_elements(tree: Any) -> list[str | None]:
    """``datetime`` of <time> elements marked as publication times first, then the first one in the body."""
    marked: list[str | None] = []
    others: list[str | None] = []
    for elem in tree.iter("time"):
        value = elem.get("datetime")
        if not value:
            continue
        hints = " ".join(filter(None, [elem.get("itemprop"), elem.get("class"), elem.get("pubdate")]))
        if elem.get("pubdate") is not None or re.search(r"publish|datepublished|pubdate", hints, re.I):
            marked.append(value)
        else:
            others.append(value)
    return marked + others[:1]


def _best_date(candidates: list[str | None]) -> tuple[datetime | None, bool]:
    """The first candidate that states its zone; else the first that parses (taken as UTC)."""
    fallback: datetime | None = None
    for text in candidates:
        if not text:
            continue
        parsed = parse_datetime(text)
        if parsed is None:
            continue
        if has_zone(text):
            return parsed, True
        fallback = fallback or parsed
    return fallback, False
