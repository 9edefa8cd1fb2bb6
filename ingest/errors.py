"""Errors of ingestion. Each becomes an `errors/` row (`stage`, `kind` = class name), never a crash.

CopydeskError (common.errors)
└── IngestError
    ├── DiscoveryError                 a feed, sitemap, list or archive that cannot be read
    │   └── BadFeed(PermanentError)    not parseable as RSS/Atom/sitemap
    ├── FetchError
    │   ├── FetchUnavailable(TransientError)   timeout, connection refused, 429, 5xx
    │   ├── HttpStatusError(PermanentError)    4xx other than 429
    │   ├── Refused(PermanentError)            scheme, private address, robots.txt, too large
    │   └── NotHtml(PermanentError)            a response that is not an HTML page
    ├── ArchiveError                   the raw archive could not keep a page
    └── ExtractError(PermanentError)
        └── NoArticle                  a page with no article text in it
"""

from __future__ import annotations

from common.errors import CopydeskError, PermanentError, TransientError


class IngestError(CopydeskError):
    """Root of ingestion errors."""


class DiscoveryError(IngestError):
    """A source (feed, sitemap, URL list, WARC, folder) that cannot be read."""


class BadFeed(DiscoveryError, PermanentError):
    """A feed or sitemap that does not parse."""


class FetchError(IngestError):
    """Fetching a page failed."""


class FetchUnavailable(FetchError, TransientError):
    """Timeout, connection failure, 429 or 5xx: worth retrying later."""


class HttpStatusError(FetchError, PermanentError):
    """A 4xx answer other than 429."""


class Refused(FetchError, PermanentError):
    """Copydesk refused the fetch: scheme, private address, robots.txt, size limit, redirect loop."""


class NotHtml(FetchError, PermanentError):
    """The response is not an HTML page."""


class ArchiveError(IngestError):
    """The raw archive could not store or read a page."""


class ExtractError(IngestError, PermanentError):
    """Extraction failed on a page."""


class NoArticle(ExtractError):
    """The page holds no article text."""
