"""A fetched page -> an `Article`: text and metadata by trafilatura, dates and canonical URL from the markup.

Where each field comes from, best first:

- text: the extraction chain (`ingest.chain`): trafilatura's fast path, then, only where it returns
  too little for the page, trafilatura with its fallbacks, readability-lxml, jusText, the JSON-LD
  ``articleBody``, the page's largest text block; the stage is kept as ``extractor``. Its first
  line is dropped when it is the headline (dedup judges the body, and a wire copy with a new
  headline is still the same story).
- a page is refused (`NoArticle`) only when no stage finds an article text on it and the page is not
  an article: a gallery, a video page, an index of links, a page with no body (the reason says
  which, `ingest.pageshape.classify`). A short text on a page that declares itself an article
  (JSON-LD article type, ``og:type`` article) is kept: a brief is an article.
- title, author, site name: trafilatura's metadata helpers (which clean ``| Site`` suffixes and
  find bylines), then JSON-LD headline / og:title, the feed's title.
- published_at: a page date stating its zone (JSON-LD, article:published_time, <time>), the
  feed / sitemap date, a page date without zone (taken as UTC), htmldate's day (only searched
  for when the page and the feed state none: it is the slow part of trafilatura's metadata).
- language: what the page declares, what the feed declared, py3langid on the text.
- article_id: from the URL as requested (`ingest.urls.article_id_for`), not the canonical URL:
  one page under two URLs is two articles, which dedup then finds to be exact copies.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.chain import DEFAULT_OPTIONS, Extracted, ExtractOptions, run_chain
from ingest.decode import decode_html, header_charset, html_content_type
from ingest.errors import ExtractError, NoArticle, NotHtml
from ingest.htmlmeta import ARTICLE_TYPES, PageMeta, read_meta
from ingest.pageshape import classify, measure
from ingest.records import Article, RawPage
from ingest.text import clean_inline, content_hash, normalize_language, normalize_text, word_count
from ingest.timeutil import parse_datetime
from ingest.urls import article_id_for

log = logging.getLogger(__name__)

#: A text of fewer words is kept only on a page that declares itself an article (a brief).
MIN_WORDS = 30
#: ...and never one of fewer words than this, in the text and in the page's largest block (menus aside).
MIN_BRIEF_WORDS = 15
#: A first line that long is a paragraph, kept even where a page without a title has it as its title.
MAX_HEADLINE_WORDS = 30
#: A text of fewer words, or from a page without a block of `min_words` outside links, is checked for
#: coming from a gallery, a video page, an index of links (unless the page states an articleBody).
CHECK_KIND_BELOW = 250
_DECLARED_ARTICLE = ARTICLE_TYPES | {"article"}
#: trafilatura's and its helpers' caches are cleared every this many pages, so memory stays flat.
RESET_CACHES_EVERY = 1000
#: Largest HTML body extracted.
MAX_HTML_BYTES = 20 * 1024 * 1024
_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")
_BINARY_MAGIC = (
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"%PDF",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"RIFF",
    b"OggS",
    b"\x00\x00\x00",
    b"ID3",
    b"BM",
    b"wOFF",
    b"wOF2",
    b"\xd0\xcf\x11\xe0",
)
_DATE_PARAMS: dict[str, Any] = {"extensive_search": True, "original_date": True}
_pages_seen = itertools.count(1)


def _reset_caches() -> None:
    """Empty trafilatura's and htmldate's caches, which grow with every page, so memory stays flat.

    htmldate logs an ERROR when charset_normalizer's helpers have no cache to clear (their versions
    disagree); that is harmless, so its logger is quietened for the call.
    """
    from trafilatura.meta import reset_caches

    htmldate_log = logging.getLogger("htmldate.meta")
    level = htmldate_log.level
    htmldate_log.setLevel(logging.CRITICAL)
    try:
        reset_caches()
    finally:
        htmldate_log.setLevel(level)


@dataclass(slots=True)
class _DocMeta:
    title: str | None = None
    author: str | None = None
    site_name: str | None = None
    description: str | None = None
    day: str | None = None


def extract_page(
    page: RawPage, *, min_words: int = MIN_WORDS, options: ExtractOptions = DEFAULT_OPTIONS
) -> Article:
    """Extract the article of `page`.

    Args:
        page: a fetched or archived page.
        min_words: fewer words of text than this is `NoArticle`.
        options: trafilatura's settings.

    Raises:
        NotHtml: the body is not an HTML page.
        NoArticle: no article text in it.
        ExtractError: the page could not be processed at all.
    """
    if next(_pages_seen) % RESET_CACHES_EVERY == 0:
        _reset_caches()
    _check_html(page)
    html, codec = decode_html(page.body, declared=header_charset(page.headers))
    tree = _parse(html, url=page.final_url)
    meta = read_meta(tree, url=page.final_url)
    found = run_chain(tree, html, url=page.final_url, meta=meta, options=options, min_words=min_words)
    if not found.text.strip() and found.error is not None:
        exc = found.error
        raise ExtractError(f"extraction failed on {page.final_url}: {type(exc).__name__}: {exc}") from exc
    try:
        need_day = meta.published_at is None and page.ref.published_at is None
        doc_meta = _doc_meta(tree, url=page.final_url, need_day=need_day)
    except (ValueError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise ExtractError(f"trafilatura failed on {page.final_url}: {type(exc).__name__}: {exc}") from exc
    return _article(page, tree, found, doc_meta, meta, min_words=min_words, codec=codec)


def _doc_meta(tree: Any, *, url: str, need_day: bool) -> _DocMeta:
    """Title, author, site name and description as trafilatura's `extract_metadata` finds them, minus
    what Copydesk does not keep (categories, tags, licence) and the date search unless `need_day`."""
    from htmldate import find_date
    from trafilatura.metadata import (
        examine_meta,
        extract_author,
        extract_meta_json,
        extract_sitename,
        extract_title,
    )

    found = examine_meta(tree)
    if found.author and " " not in found.author:
        found.author = None
    try:
        found = extract_meta_json(tree, found)
    except Exception as exc:  # trafilatura's JSON-LD reader has bugs on odd markup; it only adds metadata
        log.debug("trafilatura JSON-LD metadata failed on %s: %r", url, exc)
    found.title = found.title or extract_title(tree)
    found.author = found.author or extract_author(tree)
    found.sitename = found.sitename or extract_sitename(tree)
    found.clean_and_trim()
    day = find_date(tree, url=url, **_DATE_PARAMS) if need_day else None
    site = found.sitename.lstrip("@") if found.sitename else None
    return _DocMeta(found.title, found.author, site, found.description, day)


def _check_html(page: RawPage) -> None:
    ctype = html_content_type(page.headers)
    if ctype and ctype not in _HTML_TYPES:
        raise NotHtml(f"{page.final_url} is {ctype}, not an HTML page")
    head = page.body[:1024]
    if not head.strip():
        raise NoArticle(f"{page.final_url} has an empty body")
    if head.startswith(_BINARY_MAGIC) or (
        b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff"))
    ):
        raise NotHtml(f"{page.final_url} has a binary body, not an HTML page")
    if len(page.body) > MAX_HTML_BYTES:
        raise ExtractError(
            f"{page.final_url} is {len(page.body)} bytes, more than {MAX_HTML_BYTES} extracted"
        )


_parsers = threading.local()


def _parser() -> Any:
    """This thread's HTML parser (an lxml parser must not parse in two threads at once).

    Its elements are all `lxml.html.HtmlElement`s, found by lxml in C: lxml.html's own parser asks
    a Python method for the class of every element the extractors touch (a few hundred calls a
    page, ~4% of `extract_page`, ``make bench``), only to give form fields their own subclasses,
    whose form methods nothing here uses.
    """
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        import lxml.etree
        import lxml.html

        parser = lxml.html.HTMLParser(
            encoding="utf-8", remove_comments=True, remove_pis=True, collect_ids=False, default_doctype=False
        )
        parser.set_element_class_lookup(
            lxml.etree.ElementDefaultClassLookup(
                element=lxml.html.HtmlElement,
                comment=lxml.html.HtmlComment,
                pi=lxml.html.HtmlProcessingInstruction,
                entity=lxml.html.HtmlEntity,
            )
        )
        _parsers.parser = parser
    return parser


def _parse(html: str, *, url: str) -> Any:
    """An lxml HTML tree, parsed from UTF-8 so that charset declarations in the markup cannot mislead lxml."""
    import lxml.etree
    import lxml.html

    if "<" not in html[:4096]:
        raise NotHtml(f"{url} holds no markup, not an HTML page")
    parser = _parser()
    try:
        tree = lxml.html.fromstring(html.encode("utf-8", errors="replace"), parser=parser)
    except (lxml.etree.ParserError, lxml.etree.XMLSyntaxError, ValueError) as exc:
        raise NoArticle(f"{url} does not parse as HTML: {exc}") from exc
    if tree is None:
        raise NoArticle(f"{url} does not parse as HTML")
    return tree.getroottree().getroot()


def _article(
    page: RawPage, tree: Any, found: Extracted, doc: _DocMeta, meta: PageMeta, *, min_words: int, codec: str
) -> Article:
    ref = page.ref
    title = clean_inline(doc.title) or meta.title or ref.title
    text = _strip_headline(found.text.strip(), [title, meta.title, ref.title])
    words = word_count(text)
    stated = word_count(meta.article_body) if meta.article_body else 0
    if stated < min_words and (words < CHECK_KIND_BELOW or found.largest_words < min_words):
        _check_kind(page, tree, meta, words, min_words)
    extra: dict[str, str] = {"charset": codec}
    if page.final_url != ref.url:
        extra["final_url"] = page.final_url
    return Article(
        article_id=article_id_for(ref.url),
        url=ref.url,
        canonical_url=meta.canonical_url,
        source=ref.source,
        title=title,
        author=clean_inline(doc.author) or meta.author,
        published_at=_published(meta, ref.published_at, doc.day),
        fetched_at=page.fetched_at,
        language=meta.language or normalize_language(ref.language) or _detect_language(text),
        text=text,
        word_count=words,
        content_hash=content_hash(text),
        raw_uri=page.raw_uri,
        site_name=clean_inline(doc.site_name) or meta.site_name,
        description=clean_inline(doc.description, limit=2000) or meta.description,
        extra=extra,
        source_priority=ref.priority,
        extractor=found.stage,
    )


def _check_kind(page: RawPage, tree: Any, meta: PageMeta, words: int, min_words: int) -> None:
    """Raise `NoArticle`, saying what the page is, unless its short text is an article's."""
    shape = measure(tree)
    kind = classify(
        tree,
        meta.declared_types,
        min_words=min_words,
        article_types=_DECLARED_ARTICLE,
        longest_paragraph=shape.longest_paragraph,
    )
    if kind.kind != "article":
        if not words:
            raise NoArticle(f"no article text found in {page.final_url}: {kind.reason()}")
        raise NoArticle(f"{page.final_url} is {kind.reason()} ({words} words extracted)")
    if words >= min_words:
        return
    declared = bool(meta.declared_types & _DECLARED_ARTICLE)
    if declared and min(words, shape.largest_words) >= MIN_BRIEF_WORDS:
        return  # a brief
    raise NoArticle(
        f"{page.final_url} has {words} words of article text, fewer than {min_words}, and does not "
        f"declare itself an article (JSON-LD or og:type); the page holds {kind.words} words outside links"
    )


def _strip_headline(text: str, titles: list[str | None]) -> str:
    first, _, rest = text.partition("\n")
    wanted = {normalize_text(t) for t in titles if t}
    if rest and len(first.split()) <= MAX_HEADLINE_WORDS and normalize_text(first) in wanted:
        return rest.strip()
    return text


def _published(meta: PageMeta, from_ref: datetime | None, trafilatura_day: str | None) -> datetime | None:
    if meta.published_at is not None and meta.published_zoned:
        return meta.published_at
    if from_ref is not None:
        return from_ref
    if meta.published_at is not None:
        return meta.published_at
    return parse_datetime(trafilatura_day)


def _detect_language(text: str) -> str | None:
    import py3langid

    lang, _score = py3langid.classify(text[:20_000])
    return normalize_language(str(lang))
