"""Source specs: the strings a user passes to say where articles come from.

    feed:URL       an RSS (0.9x, 1.0, 2.0) or Atom feed
    sitemap:URL    a sitemap, sitemap index or Google News sitemap (gzip allowed)
    urls:FILE      a text file, one URL per line, ``#`` comments
    warc:PATH      a WARC or WARC.gz file, local or ``s3://``; read as is, nothing fetched
    dir:PATH       a folder of saved pages (*.html, *.htm, optionally .gz), local or ``s3://``

Feeds and sitemaps may also name a local file or an ``s3://`` object instead of a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast, get_args
from urllib.parse import urlsplit

from ingest.errors import DiscoveryError
from ingest.urls import is_http_url, source_for

__all__ = ["FETCHED_KINDS", "SOURCE_KINDS", "SourceKind", "SourceSpec", "parse_source", "source_for"]

SourceKind = Literal["feed", "sitemap", "urls", "warc", "dir"]
SOURCE_KINDS: tuple[str, ...] = get_args(SourceKind)
#: Kinds whose pages must be fetched over HTTP; the others hold the pages themselves.
FETCHED_KINDS = frozenset({"feed", "sitemap", "urls"})


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A parsed source spec: its kind and its target (a URL, a path or an ``s3://`` URI)."""

    kind: SourceKind
    target: str

    @property
    def fetches(self) -> bool:
        """Whether the pages of this source are fetched (`discover_refs`) or read (`iter_pages`)."""
        return self.kind in FETCHED_KINDS

    @property
    def is_remote(self) -> bool:
        """Whether the target is an http(s) URL (else a local path or an object-store URI)."""
        return is_http_url(self.target)

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"


def parse_source(spec: str) -> SourceSpec:
    """Parse ``kind:target`` (see the module docstring) into a `SourceSpec`.

    Raises:
        DiscoveryError: unknown kind, empty target, or a target of the wrong sort.
    """
    kind, sep, target = spec.strip().partition(":")
    kind = kind.strip().lower()
    target = target.strip()
    if not sep or kind not in SOURCE_KINDS:
        raise DiscoveryError(
            f"unknown source {spec!r}: expected one of "
            + ", ".join(f"{k}:{'URL' if k in ('feed', 'sitemap') else 'PATH'}" for k in SOURCE_KINDS)
        )
    if not target:
        raise DiscoveryError(f"source {spec!r} names no {kind} to read")
    scheme = urlsplit(target).scheme.lower()
    if len(scheme) > 1 and scheme not in ("http", "https", "s3", "file"):
        raise DiscoveryError(f"source {spec!r}: unsupported scheme {scheme!r}")
    if scheme in ("http", "https") and (kind not in ("feed", "sitemap") or not is_http_url(target)):
        raise DiscoveryError(
            f"source {spec!r}: only feed: and sitemap: take an http(s) URL"
            if kind not in ("feed", "sitemap")
            else f"source {spec!r}: malformed URL"
        )
    return SourceSpec(kind=cast(SourceKind, kind), target=target)
