"""The record of the URLs already ingested, so a scheduled run does not fetch again what it has.

A page's URL is reduced to a key (`url_key`): courlan's normalisation (scheme and host
lowercased, default port dropped, query parameters sorted and tracking ones such as ``utm_*``,
``fbclid`` or ``ref`` removed), then the fragment dropped and ``http`` taken as ``https``. The
record keeps a 64-bit hash of each key: for every article written, the URL it was fetched at,
the URL it ended at after redirects and the canonical URL the page names, if that is on the
page's own site (`urls_to_record`). A feed item whose key is in the record (the same article
linked with tracking parameters, or the canonical URL of an AMP or feed variant fetched before)
is not fetched again. A canonical URL on another site is not recorded: a syndication partner
names the wire's URL as its canonical, and a hostile page could name any URL, so recording it
would skip the original for good.

On the store the record is a folder of small Parquet files of one ``url_hash`` column (int64),
``<root>/state/seen_urls/run-<digest>.parquet``, one per run that added URLs, folded into one
file when there are more than `COMPACT_AFTER` (a run holds the output root's lease while it does
so). A million URLs take 8 MB of memory as a sorted numpy array and about as much on disk.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pyarrow as pa

from common.storage import Location, StorageError, delete_files, list_files, read_dataset, write_file
from ingest.urls import normalize_url, source_for

log = logging.getLogger(__name__)

SEEN_DIR = "seen_urls"
#: Files of the record beyond which a save folds them all into one.
COMPACT_AFTER = 64
SCHEMA = pa.schema([pa.field("url_hash", pa.int64(), nullable=False)])


def url_key(url: str) -> str:
    """The form of `url` two links to one article share (see the module docstring)."""
    from courlan import normalize_url as courlan_normalize

    url = url.strip()
    try:
        key = courlan_normalize(url, strict=False)
    except (ValueError, AttributeError, TypeError):  # courlan on a URL it cannot split
        key = normalize_url(url)
    try:
        parts = urlsplit(key)
    except ValueError:
        return key
    scheme = "https" if parts.scheme.lower() == "http" else parts.scheme.lower()
    netloc = parts.netloc.removesuffix(":443") if scheme == "https" else parts.netloc
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def same_site(a: str, b: str) -> bool:
    """Whether two URLs are of one publisher (`source_for`), a subdomain counting as its parent's."""
    sa, sb = source_for(a), source_for(b)
    return sa == sb or sa.endswith(f".{sb}") or sb.endswith(f".{sa}")


def urls_to_record(url: str, *, final_url: str | None, canonical_url: str | None) -> list[str]:
    """The URLs an article written from `url` adds to the record: the URL fetched, where redirects
    ended (a page the publisher served there), and the canonical URL only when on the same site."""
    out = [url]
    if final_url and final_url not in out:
        out.append(final_url)
    if canonical_url and canonical_url not in out and same_site(canonical_url, url):
        out.append(canonical_url)
    return out


def url_hash(url: str) -> int:
    """A signed 64-bit hash of `url_key(url)`: first 8 bytes of its sha1."""
    digest = hashlib.sha1(url_key(url).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SeenUrls:
    """The URLs of the articles already ingested, as hashes; `add` collects this run's new ones."""

    def __init__(self, hashes: Iterable[int] = ()) -> None:
        self._known = np.unique(np.fromiter(hashes, dtype=np.int64))
        self.added: set[int] = set()

    def __contains__(self, url: object) -> bool:
        if not isinstance(url, str) or not url:
            return False
        h = url_hash(url)
        if h in self.added:
            return True
        i = int(np.searchsorted(self._known, h))
        return i < len(self._known) and int(self._known[i]) == h

    def __len__(self) -> int:
        return len(self._known) + len(self.added)

    def add(self, urls: Iterable[str | None]) -> None:
        """Record `urls` (None and empty ones ignored) as ingested by this run."""
        for url in urls:
            if url and url not in self:
                self.added.add(url_hash(url))


def seen_location(root: Location) -> Location:
    return root.child("state", SEEN_DIR)


def load_seen_urls(root: Location) -> SeenUrls:
    """The record saved under `root` (empty when there is none yet).

    Raises:
        common.storage.StorageError: the store cannot be read.
    """
    table = read_dataset(seen_location(root), columns=["url_hash"])
    if table is None:
        return SeenUrls()
    seen = SeenUrls(table.column("url_hash").to_numpy())
    log.debug("loaded %d seen URLs from %s", len(seen), seen_location(root).uri)
    return seen


def save_seen_urls(seen: SeenUrls, root: Location) -> str | None:
    """Write the URLs `seen` added to ``<root>/state/seen_urls/``; returns the file's URI (None: nothing new).

    The file name depends only on its hashes, so saving the same URLs again replaces the file.

    Raises:
        common.storage.StorageError: the store cannot be written.
    """
    if not seen.added:
        return None
    loc = seen_location(root)
    new = np.array(sorted(seen.added), dtype=np.int64)
    uri = write_file(_table(new), loc, f"run-{_digest(new)}.parquet")
    log.info("recorded %d newly seen URLs in %s", len(new), uri)
    files = list_files(loc)
    if len(files) > COMPACT_AFTER:
        _compact(loc, files)
    return uri


def _compact(loc: Location, files: list[str]) -> None:
    table = read_dataset(loc, columns=["url_hash"])
    if table is None:
        return
    hashes = np.unique(table.column("url_hash").to_numpy())
    name = f"all-{_digest(hashes)}.parquet"
    kept = write_file(_table(hashes), loc, name)
    try:
        delete_files(loc, [f for f in files if not f.endswith(f"/{name}")])
    except StorageError as exc:  # the merged file holds them all: left-overs only cost space
        log.warning("could not delete the folded seen-URL files under %s: %s", loc.uri, exc)
    log.info("folded %d seen-URL files into %s", len(files), kept)


def _table(hashes: np.ndarray) -> pa.Table:
    return pa.table({"url_hash": pa.array(hashes, pa.int64())}, schema=SCHEMA)


def _digest(hashes: np.ndarray) -> str:
    return hashlib.sha1(hashes.astype(">i8").tobytes()).hexdigest()[:16]
