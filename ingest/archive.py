"""The raw archive: every page kept as fetched, before extraction, so it can be extracted again.

One object per page, ``<location>/raw/<aa>/<sha256 of body>-<article id>.warc.gz``: a gzip'd
WARC/1.1 ``response`` record (status, headers, body, final URL, fetch time) that any WARC tool
reads, plus the page's `PageRef` as JSON in a ``WARC-Copydesk-Ref`` header and, for pages read
from a WARC or a folder, where they came from in ``WARC-Copydesk-Origin``.

The name is content-addressed: the body's sha256, and the requested URL's article id so that one
body served under two URLs stays two pages. Storing the same page twice finds the object there
and writes nothing (idempotent). Objects are written whole: under a temporary name then moved on
a local disk, in one PUT on S3, so a reader never sees half an object.
"""

from __future__ import annotations

import hashlib
import logging

import pyarrow as pa
import pyarrow.fs as pafs

from common.storage import Location, StorageError, resolve, write_bytes
from ingest.errors import ArchiveError, DiscoveryError
from ingest.records import RawPage
from ingest.urls import article_id_for

log = logging.getLogger(__name__)

RAW_DIR = "raw"
SUFFIX = ".warc.gz"


class RawArchive:
    """Content-addressed store of raw pages under ``<location>/raw/``, local or S3 alike."""

    def __init__(self, location: Location) -> None:
        self.location = location
        self.root = location.child(RAW_DIR)

    @classmethod
    def at(cls, uri: str) -> RawArchive:
        """The archive under a local path or ``s3://bucket/prefix``."""
        try:
            return cls(resolve(uri))
        except StorageError as exc:
            raise ArchiveError(f"cannot open raw archive at {uri}: {exc}") from exc

    def __repr__(self) -> str:
        return f"RawArchive({self.root.uri!r})"

    @staticmethod
    def key_for(page: RawPage) -> str:
        """Relative path of `page`'s object under ``raw/``."""
        digest = hashlib.sha256(page.body).hexdigest()
        return f"{digest[:2]}/{digest}-{article_id_for(page.ref.url)}{SUFFIX}"

    def uri_for(self, page: RawPage) -> str:
        return self.root.child(self.key_for(page)).uri

    def put(self, page: RawPage) -> str:
        """Keep `page` (once) and return its ``raw_uri``.

        Raises:
            ArchiveError: the store cannot be written.
        """
        from ingest.warc import encode_page

        target = self.root.child(self.key_for(page))
        fs = self.location.fs
        try:
            if fs.get_file_info(target.path).type == pafs.FileType.File:
                return target.uri
            data = encode_page(page)
            # Whole or absent (fsynced rename; on S3 a temporary key copied into place): a raw
            # object is never written again once it exists, so a truncated one would stay.
            write_bytes(data, target)
        except (StorageError, OSError, pa.ArrowException, ValueError) as exc:
            raise ArchiveError(f"cannot store {page.ref.url} at {target.uri}: {exc}") from exc
        log.debug("archived %s as %s", page.ref.url, target.uri)
        return target.uri

    def get(self, raw_uri: str) -> RawPage:
        """Read back a page by the ``raw_uri`` `put` gave (or a ``<warc>#offset=N`` pointer).

        Raises:
            ArchiveError: no such object, or it is unreadable.
        """
        from ingest.warc import read_record_at, read_warc_record, split_raw_uri

        uri, offset = split_raw_uri(raw_uri)
        prefix = self.root.uri.rstrip("/") + "/"
        try:
            if uri.startswith(prefix):
                path = f"{self.root.path.rstrip('/')}/{uri[len(prefix) :]}"
                return read_record_at(self.location.fs, path, offset, raw_uri=raw_uri, trusted=True)
            return read_warc_record(raw_uri)
        except DiscoveryError as exc:
            raise ArchiveError(f"cannot read raw page {raw_uri}: {exc}") from exc
