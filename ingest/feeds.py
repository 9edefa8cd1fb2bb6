"""RSS (0.9x, 1.0, 2.0) and Atom feeds -> `PageRef`s, parsed by feedparser from bytes we fetched.

feedparser never fetches here: it is handed a byte stream (a bare ``bytes`` would be taken as a
file name or URL to open). Documents declaring XML entities are refused first (`ingest.xmlsafe`),
since feedparser would expand them.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.errors import BadFeed
from ingest.records import PageRef
from ingest.text import clean_inline, normalize_language
from ingest.timeutil import parse_datetime
from ingest.urls import is_http_url, source_for
from ingest.xmlsafe import maybe_gunzip, refuse_entity_declarations

log = logging.getLogger(__name__)

#: Largest feed accepted after gunzip.
MAX_FEED_BYTES = 50 * 1024 * 1024


@dataclass(slots=True)
class Parsed:
    """What one feed or sitemap document yields.

    Attributes:
        refs: the pages it lists.
        children: further sitemaps it points to (sitemap indexes), with their lastmod.
        skipped: entries that could not become a ref, as (their URL, or their document's, why):
            reported as error rows, never dropped silently.
    """

    refs: list[PageRef] = field(default_factory=list)
    children: list[tuple[str, datetime | None]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def parse_feed(data: bytes, *, url: str, charset: str | None = None) -> Parsed:
    """Parse an RSS or Atom document fetched from `url` (relative links resolve against it).

    Args:
        data: the document's bytes, gzip allowed.
        url: where it came from: base for relative links, and `PageRef.discovered_from`.
        charset: the charset the server declared, if any.

    Raises:
        BadFeed: not a feed, an XML bomb, or a corrupt gzip stream.
    """
    import feedparser

    data = maybe_gunzip(data, max_bytes=MAX_FEED_BYTES, what=url)
    refuse_entity_declarations(data, what=url)
    ctype = f"application/xml; charset={charset}" if charset else "application/xml"
    parsed: Any = feedparser.parse(
        io.BytesIO(data), response_headers={"content-location": url, "content-type": ctype}
    )
    entries = parsed.get("entries") or []
    if not parsed.get("version") and not entries:
        reason = parsed.get("bozo_exception") or "no RSS or Atom root element"
        raise BadFeed(f"{url} is not an RSS or Atom feed: {reason}")
    if parsed.get("bozo"):
        log.info(
            "feed %s is not well-formed (%s); read %d entries leniently",
            url,
            parsed.get("bozo_exception"),
            len(entries),
        )
    feed_lang = normalize_language(parsed.get("feed", {}).get("language"))
    out = Parsed()
    for entry in entries:
        link = _entry_link(entry)
        title = clean_inline(entry.get("title"))
        if link is None:
            name = title or clean_inline(entry.get("id")) or "(untitled)"
            out.skipped.append((url, f"feed item {name!r} in {url} has no http(s) link"))
            continue
        out.refs.append(
            PageRef(
                url=link,
                source=source_for(link),
                discovered_from=url,
                title=title,
                published_at=_entry_time(entry),
                language=_entry_language(entry) or feed_lang,
                guid=clean_inline(entry.get("id")),
            )
        )
    return out


def _entry_link(entry: Any) -> str | None:
    candidates = [entry.get("link")]
    candidates += [
        link.get("href") for link in entry.get("links", []) if link.get("rel", "alternate") == "alternate"
    ]
    if entry.get("guidislink"):
        candidates.append(entry.get("id"))
    for candidate in candidates:
        if candidate and is_http_url(candidate):
            return str(candidate).strip()
    return None


def _entry_time(entry: Any) -> datetime | None:
    """Published time, else updated, else created; feedparser hands them as UTC struct_time.

    Read with `dict.get`: feedparser's own lookup hands ``published`` for a missing ``updated``,
    with a DeprecationWarning (met whenever a published date is unreadable, as 9999-12-31 is).
    """
    for key in ("published", "updated", "created"):
        text = dict.get(entry, key)
        parsed_text = parse_datetime(text) if text else None
        if parsed_text is not None:
            return parsed_text
        struct = dict.get(entry, f"{key}_parsed")
        if isinstance(struct, time.struct_time):
            try:
                when = datetime(*struct[:6], tzinfo=UTC)
            except ValueError:
                continue
            return parse_datetime(when.isoformat())
    return None


def _entry_language(entry: Any) -> str | None:
    for key in ("title_detail", "summary_detail"):
        detail = entry.get(key) or {}
        lang = normalize_language(detail.get("language"))
        if lang:
            return lang
    return normalize_language(entry.get("language"))
