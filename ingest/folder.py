"""A folder of saved pages (*.html, *.htm, optionally .gz; local or ``s3://``) as a source of pages.

A local folder is walked without following links to folders (so no way out and no cycles), and
a linked page is read only when it lies inside the folder; the links not followed are error rows.

Each file is a page as saved by a browser or a crawler: its URL is the page's own
``<link rel=canonical>`` / ``og:url`` when it has one, else the file's URI; its fetch time is
the file's modification time; it is read as a 200 ``text/html`` answer without charset, so the
page's ``<meta charset>`` or detection decides the decoding.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import PurePosixPath

import pyarrow as pa
import pyarrow.fs as pafs

from common.storage import Location, StorageError, resolve
from ingest.errors import BadFeed, DiscoveryError
from ingest.records import PageRef, RawPage
from ingest.timeutil import is_sane
from ingest.urls import is_http_url, source_for
from ingest.xmlsafe import maybe_gunzip

log = logging.getLogger(__name__)

PAGE_SUFFIXES = (".html", ".htm", ".xhtml", ".html.gz", ".htm.gz", ".xhtml.gz")
#: Largest saved page read (after gunzip).
MAX_PAGE_BYTES = 20 * 1024 * 1024


def iter_folder(uri: str) -> Iterator[RawPage | tuple[PageRef, DiscoveryError]]:
    """Yield every saved page under `uri` (recursively, sorted by path), or the file with why it failed.

    Raises:
        DiscoveryError: the folder itself cannot be listed.
    """
    refused: list[tuple[str, str]] = []
    try:
        loc = resolve(uri)
        if isinstance(loc.fs, pafs.LocalFileSystem):
            infos = loc.fs.get_file_info(_local_files(loc.path, refused))
        else:
            infos = loc.fs.get_file_info(pafs.FileSelector(loc.path, recursive=True, allow_not_found=False))
    except (OSError, pa.ArrowException, StorageError) as exc:
        raise DiscoveryError(f"cannot list folder {uri}: {exc}") from exc
    files = sorted(
        (i for i in infos if i.type == pafs.FileType.File and i.path.lower().endswith(PAGE_SUFFIXES)),
        key=lambda i: i.path,
    )
    log.info("folder %s: %d saved pages", uri, len(files))
    for path, why in refused:
        link = _file_uri(loc, path)
        yield PageRef(url=link, source=source_for(link), discovered_from=uri), DiscoveryError(why)
    for info in files:
        file_uri = _file_uri(loc, info.path)
        try:
            yield _read_page(loc, info, file_uri=file_uri, folder=uri)
        except DiscoveryError as exc:
            yield PageRef(url=file_uri, source=source_for(file_uri), discovered_from=uri), exc


def _local_files(root: str, refused: list[tuple[str, str]]) -> list[str]:
    """Saved pages under a local folder, walked without following linked folders (no way out of
    the folder, no cycles); a linked page is read only if it lies inside the folder. Links not
    followed go to `refused` as (path, why)."""
    if not os.path.isdir(root):
        raise DiscoveryError(f"cannot list folder {root}: not a folder")
    real_root = os.path.realpath(root)
    out: list[str] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        for name in dirs:
            if os.path.islink(os.path.join(folder, name)):
                refused.append((os.path.join(folder, name), "a link to a folder, not followed"))
        for name in names:
            path = os.path.join(folder, name)
            if not name.lower().endswith(PAGE_SUFFIXES):
                continue
            if os.path.islink(path):
                target = os.path.realpath(path)
                if os.path.commonpath([real_root, target]) != real_root:
                    refused.append((path, f"a link to {target}, outside the folder; not followed"))
                    continue
            out.append(path)
    return out


def _file_uri(loc: Location, path: str) -> str:
    if isinstance(loc.fs, pafs.LocalFileSystem):
        return PurePosixPath(path).as_uri() if path.startswith("/") else path
    rel = path[len(loc.path) :].lstrip("/")
    return f"{loc.uri.rstrip('/')}/{rel}"


def _read_page(loc: Location, info: pafs.FileInfo, *, file_uri: str, folder: str) -> RawPage:
    if info.size is not None and info.size > MAX_PAGE_BYTES:
        raise DiscoveryError(f"{file_uri} is {info.size} bytes, more than {MAX_PAGE_BYTES} read")
    try:
        with loc.fs.open_input_stream(info.path, compression=None) as stream:
            body = stream.read(MAX_PAGE_BYTES + 1)
        body = maybe_gunzip(body, max_bytes=MAX_PAGE_BYTES, what=file_uri)
    except BadFeed as exc:
        raise DiscoveryError(str(exc)) from exc
    except (OSError, pa.ArrowException) as exc:
        raise DiscoveryError(f"cannot read {file_uri}: {exc}") from exc
    if len(body) > MAX_PAGE_BYTES:
        raise DiscoveryError(f"{file_uri} is more than {MAX_PAGE_BYTES} bytes")
    url = _own_url(body, file_uri=file_uri) or file_uri
    mtime = info.mtime
    fetched_at = mtime.astimezone(UTC) if isinstance(mtime, datetime) and mtime.tzinfo else None
    if isinstance(mtime, datetime) and mtime.tzinfo is None:
        fetched_at = mtime.replace(tzinfo=UTC)
    return RawPage(
        ref=PageRef(url=url, source=source_for(url), discovered_from=folder),
        final_url=url,
        status=200,
        headers={"content-type": "text/html"},
        body=body,
        # a file dated in year 9999 (or before 1970) has no usable time: now, as for no time at all
        fetched_at=fetched_at if fetched_at is not None and is_sane(fetched_at) else datetime.now(UTC),
        raw_uri=file_uri,
    )


def _own_url(body: bytes, *, file_uri: str) -> str | None:
    """The page's canonical URL (or og:url) if it states an absolute http(s) one."""
    import lxml.etree
    import lxml.html

    from ingest.htmlmeta import canonical_url

    try:
        tree = lxml.html.fromstring(body[: 512 * 1024])
    except (lxml.etree.ParserError, lxml.etree.XMLSyntaxError, ValueError):
        return None
    canonical = canonical_url(tree, url=file_uri)
    return canonical if canonical and is_http_url(canonical) else None
