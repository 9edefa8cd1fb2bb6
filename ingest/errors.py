"""Errors of ingestion. Each becomes an `errors/` row (`stage`, `kind` = class name), never a crash.

CopydeskError (common.errors)
└── IngestError
    ├── DiscoveryError                 a feed, sitemap, list or archive that cannot be read
    │   ├── BadFeed(PermanentError)    not parseable as RSS/Atom/sitemap
    │   └── BadRecord(PermanentError)  one WARC record that cannot be read (the others still are)
    ├── FetchError
    │   ├── FetchUnavailable(TransientError)   timeout, connection refused, 429, 5xx
    │   ├── HttpStatusError(PermanentError)    4xx other than 429
    │   ├── Refused(PermanentError)            scheme, private address, robots.txt, too large
    │   └── NotHtml(PermanentError)            a response that is not an HTML page
    ├── ArchiveError                   the raw archive could not keep a page
    ├── GaveUp(PermanentError)         an unknown error, met in too many runs (`ingest.attempts`)
    └── ExtractError(PermanentError)
        ├── NoArticle                  a page with no article text in it
        └── ExtractTimeout             a page that took longer than the per-page limit to extract

An error row is *final* (`is_final_kind`) when trying the page again would not help: one of these
kinds, neither transient nor the archive's. Any other kind (a task lost, an unknown error) is not.
"""

from __future__ import annotations

from common.errors import CopydeskError, PermanentError, TransientError


class IngestError(CopydeskError):
    """Root of ingestion errors."""


class DiscoveryError(IngestError):
    """A source (feed, sitemap, URL list, WARC, folder) that cannot be read."""


class BadFeed(DiscoveryError, PermanentError):
    """A feed or sitemap that does not parse."""


class BadRecord(DiscoveryError, PermanentError):
    """One response record of a WARC that cannot be read as a page; the records after it still are."""


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


class GaveUp(IngestError, PermanentError):
    """An input that failed with an error Copydesk does not know in too many runs: not tried again."""


class ExtractError(IngestError, PermanentError):
    """Extraction failed on a page."""


class NoArticle(ExtractError):
    """The page holds no article text."""


class ExtractTimeout(ExtractError):
    """Extracting the page took longer than the per-page limit (`ingest.pool.PAGE_CPU_LIMIT_S`)."""


def _tree(root: type[IngestError]) -> dict[str, type[IngestError]]:
    kinds = {root.__name__: root}
    for sub in root.__subclasses__():
        kinds.update(_tree(sub))
    return kinds


#: Every kind of ingestion error row (`ErrorRecord.kind`, the class name) to its class.
KINDS: dict[str, type[IngestError]] = _tree(IngestError)


def is_final(cls: type[BaseException]) -> bool:
    """Whether a failure of class `cls` is final: an ingestion error, neither transient nor the archive's."""
    return issubclass(cls, IngestError) and not issubclass(cls, TransientError | ArchiveError)


def is_final_kind(kind: str) -> bool:
    """Whether an error row of `kind` is final (a 404, a page with no article, a malformed URL).

    Not final: a transient failure, the archive failing to store the page, a task lost, or any kind
    that is not one of ingestion's errors.
    """
    cls = KINDS.get(kind)
    return cls is not None and is_final(cls)
