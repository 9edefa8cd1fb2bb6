"""WARC files as a source of pages (no fetching), and one-record WARCs as the raw archive's format.

Reading streams the file record by record (local path or ``s3://``, never loaded whole). Each
``response`` record with a 2xx HTML answer becomes a `RawPage` whose ``raw_uri`` is
``<warc uri>#offset=<record offset>``; `read_warc_record` reads it back from there. Other records
(requests, metadata, images, redirects, errors) are not articles: they are counted by reason in
`WarcStats` and logged, not reported one by one. A response record that cannot be read (no
target URI, a broken HTTP head, a truncated body) is yielded as its ref with the reason, and
reading goes on with the next record (`ingest.warcsafe`).

The ``WARC-Copydesk-Ref`` header (source, priority, dates of the original `PageRef`) is read only
from the raw archive Copydesk writes: in any other WARC it is a header anyone could have set.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any, BinaryIO

import pyarrow as pa

from common.storage import StorageError, resolve
from ingest.errors import BadRecord, DiscoveryError
from ingest.records import PageRef, RawPage
from ingest.timeutil import parse_datetime, to_utc, utcnow
from ingest.urls import is_http_url, source_for
from ingest.warcsafe import PROBLEM, archive_iterator

log = logging.getLogger(__name__)

#: gzip level of the raw archive's records. On the 181 real pages of ../shared/data/extraction
#: (170 KB each): level 9 (warcio's) takes twice the time of 6 for under 1% fewer bytes; level 5
#: takes 26% less time than 6 for 1.5% more bytes (0.2005 of the page against 0.1975), level 4
#: 45% less for 5% more. At 6, compressing took 6% of ingestion's CPU (``make bench``).
RAW_GZIP_LEVEL = 5

#: Largest record payload read as a page; a larger one is an error row (counted as ``bad_record``).
MAX_RECORD_BYTES = 20 * 1024 * 1024
#: WARC header holding the `PageRef` of an archived page, as JSON.
REF_HEADER = "WARC-Copydesk-Ref"
#: WARC header holding where an archived page was read from before (a WARC record, a file).
ORIGIN_HEADER = "WARC-Copydesk-Origin"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_OFFSET_MARK = "#offset="
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(slots=True)
class WarcStats:
    """What a WARC held: records read, pages yielded, records skipped by reason."""

    records: int = 0
    pages: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


def split_raw_uri(raw_uri: str) -> tuple[str, int]:
    """``uri#offset=N`` -> (uri, N); a plain URI -> (uri, 0)."""
    base, mark, offset = raw_uri.rpartition(_OFFSET_MARK)
    if mark and offset.isdigit():
        return base, int(offset)
    return raw_uri, 0


def _open(uri: str, *, seekable: bool) -> BinaryIO:
    try:
        loc = resolve(uri)
        stream: BinaryIO = (
            loc.fs.open_input_file(loc.path)
            if seekable
            else loc.fs.open_input_stream(loc.path, compression=None)
        )
    except (OSError, pa.ArrowException, StorageError) as exc:
        raise DiscoveryError(f"cannot open WARC {uri}: {exc}") from exc
    return stream


def iter_warc(
    uri: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    stats: WarcStats | None = None,
) -> Iterator[RawPage | tuple[PageRef, DiscoveryError]]:
    """Yield the HTML pages of a WARC / WARC.gz file, streamed, in file order, and for each response
    record that cannot be read, its ref with why (counted as ``bad_record``); reading goes on.

    Args:
        uri: local path, ``file://`` or ``s3://`` URI.
        start, end: keep records whose WARC-Date is in ``[start, end)``.
        stats: filled in as the file is read.

    Raises:
        DiscoveryError: the file cannot be opened, or is corrupt (pages before the damage are yielded).
    """
    from warcio.exceptions import ArchiveLoadFailed

    stats = stats if stats is not None else WarcStats()
    start_utc = to_utc(start) if start else None
    end_utc = to_utc(end) if end else None
    offset = 0
    with _open(uri, seekable=False) as stream:
        iterator = archive_iterator(stream)
        try:
            for record in iterator:
                stats.records += 1
                try:
                    reason, page = _page_of(record, uri=uri, start=start_utc, end=end_utc)
                except BadRecord as exc:
                    reason, page = "bad_record", None
                    target = target_uri(record) or f"{uri}{_OFFSET_MARK}{iterator.get_record_offset()}"
                    yield PageRef(url=target, source=source_for(target), discovered_from=uri), exc
                # Asked for every record, after its body was read: warcio finds offsets by reading
                # each record to its end, and miscounts those it was never asked about.
                offset = iterator.get_record_offset()
                if page is None:
                    stats.skipped[reason] += 1
                    continue
                stats.pages += 1
                page.raw_uri = f"{uri}{_OFFSET_MARK}{offset}"
                yield page
        except (ArchiveLoadFailed, OSError, EOFError, ValueError, pa.ArrowException) as exc:
            raise DiscoveryError(f"WARC {uri} is unreadable after offset {offset}: {exc}") from exc
    log.info(
        "read %s: %d records, %d pages, skipped %s", uri, stats.records, stats.pages, dict(stats.skipped)
    )


def _page_of(
    record: Any, *, uri: str, start: datetime | None, end: datetime | None
) -> tuple[str, RawPage | None]:
    """(skip reason, None) or ("", page without its raw_uri) for one WARC record."""
    if record.rec_type != "response":
        return record.rec_type or "unknown", None
    problem = getattr(record, PROBLEM, None)
    if problem:
        raise BadRecord(f"WARC {uri}: {problem}")
    if record.http_headers is None:
        return "not_http", None
    fetched_at = parse_datetime(record.rec_headers.get_header("WARC-Date"), plausible=False)
    if fetched_at is not None and (
        (start is not None and fetched_at < start) or (end is not None and fetched_at >= end)
    ):
        return "out_of_window", None
    status = _status(record)
    if not 200 <= status < 300:
        return f"status_{status // 100}xx", None
    ctype = (record.http_headers.get_header("Content-Type") or "").split(";", 1)[0].strip().lower()
    if ctype and ctype not in _HTML_TYPES:
        return "not_html", None
    body = record.content_stream().read(MAX_RECORD_BYTES + 1)
    if len(body) > MAX_RECORD_BYTES:  # a page, lost unless it is said: an error row
        raise BadRecord(
            f"WARC {uri}: the page {target_uri(record)[:200]} is larger than {MAX_RECORD_BYTES} bytes"
        )
    missing = getattr(record.raw_stream, "limit", 0)
    if isinstance(missing, int) and missing > 0:
        raise DiscoveryError(
            f"WARC {uri}: record of {target_uri(record)} is truncated ({missing} bytes missing)"
        )
    if not is_http_url(target_uri(record)):
        raise BadRecord(f"WARC {uri}: response record for {target_uri(record)[:200]!r}, not an http(s) URL")
    return "", record_to_page(record, body=body, raw_uri=uri, fetched_at=fetched_at, trusted=False)


def target_uri(record: Any) -> str:
    return str(record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")


def _status(record: Any) -> int:
    try:
        return int(record.http_headers.get_statuscode())
    except (TypeError, ValueError):
        return 0


def record_to_page(
    record: Any, *, body: bytes, raw_uri: str, fetched_at: datetime | None, trusted: bool
) -> RawPage:
    """A `RawPage` from a warcio response record; in a `trusted` one (an object of the raw archive
    Copydesk wrote), a `REF_HEADER` restores the original `PageRef`."""
    target = target_uri(record)
    headers: dict[str, str] = {}
    for name, value in record.http_headers.headers:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    ref = _ref_from_header(record.rec_headers.get_header(REF_HEADER)) if trusted else None
    if ref is None:
        ref = PageRef(url=target, source=source_for(target), discovered_from=split_raw_uri(raw_uri)[0])
    return RawPage(
        ref=ref,
        final_url=target,
        status=_status(record),
        headers=headers,
        body=body,
        fetched_at=fetched_at or utcnow(),
        raw_uri=raw_uri,
    )


def read_warc_record(raw_uri: str) -> RawPage:
    """Read back the page a ``<warc uri>#offset=N`` (or a one-record WARC file) points at, in a WARC
    not known to be Copydesk's (its `REF_HEADER` is not read).

    Raises:
        DiscoveryError: no such file, or no response record at that offset.
    """
    uri, offset = split_raw_uri(raw_uri)
    try:
        loc = resolve(uri)
    except StorageError as exc:
        raise DiscoveryError(f"cannot open WARC {uri}: {exc}") from exc
    return read_record_at(loc.fs, loc.path, offset, raw_uri=raw_uri, trusted=False)


def read_record_at(fs: Any, path: str, offset: int, *, raw_uri: str, trusted: bool) -> RawPage:
    """The response record at byte `offset` of the WARC file `path` in filesystem `fs`; `trusted`:
    the file is Copydesk's own (the raw archive), so its `REF_HEADER` is read.

    Raises:
        DiscoveryError: no such file, or no response record there.
    """
    from warcio.exceptions import ArchiveLoadFailed

    try:
        with fs.open_input_file(path) as stream:
            stream.seek(offset)
            for record in archive_iterator(stream):
                if record.rec_type != "response" or record.http_headers is None:
                    break
                fetched_at = parse_datetime(record.rec_headers.get_header("WARC-Date"), plausible=False)
                body = record.content_stream().read(MAX_RECORD_BYTES + 1)
                if len(body) > MAX_RECORD_BYTES:
                    raise DiscoveryError(f"the record at {raw_uri} is larger than {MAX_RECORD_BYTES} bytes")
                return record_to_page(
                    record, body=body, raw_uri=raw_uri, fetched_at=fetched_at, trusted=trusted
                )
    except (ArchiveLoadFailed, OSError, EOFError, ValueError, pa.ArrowException) as exc:
        raise DiscoveryError(f"cannot read a WARC record at {raw_uri}: {exc}") from exc
    raise DiscoveryError(f"no response record at {raw_uri}")


def encode_page(page: RawPage) -> bytes:
    """One gzip'd WARC/1.1 response record holding `page` (status, headers, body, URL, time, ref)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    try:
        reason = HTTPStatus(page.status).phrase
    except ValueError:
        reason = "Unknown"
    # The body is kept decoded, so the headers describing its transfer no longer apply.
    drop = {"content-encoding", "transfer-encoding", "content-length", "connection", "keep-alive"}
    header_list = [
        (k, v) for k, v in page.headers.items() if k.lower() not in drop and _HEADER_NAME.fullmatch(k)
    ]
    header_list.append(("Content-Length", str(len(page.body))))
    http_headers = StatusAndHeaders(f"{page.status} {reason}", header_list, protocol="HTTP/1.1")
    digest = hashlib.sha256(page.ref.url.encode("utf-8") + b"\n" + page.body).hexdigest()
    warc_headers = {
        "WARC-Record-ID": f"<urn:uuid:{uuid.UUID(digest[:32])}>",
        "WARC-Date": to_utc(page.fetched_at).isoformat().replace("+00:00", "Z"),
        REF_HEADER: json.dumps(_ref_to_json(page.ref), separators=(",", ":")),
    }
    if page.raw_uri:
        warc_headers[ORIGIN_HEADER] = page.raw_uri
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False, warc_version="1.1")
    record = writer.create_warc_record(
        page.final_url,
        "response",
        payload=io.BytesIO(page.body),
        length=len(page.body),
        http_headers=http_headers,
        warc_headers_dict=warc_headers,
    )
    writer.write_record(record)
    # One record, one gzip member: what warcio's gzip=True writes, at `RAW_GZIP_LEVEL`.
    return gzip.compress(buf.getvalue(), compresslevel=RAW_GZIP_LEVEL, mtime=0)


def _ref_to_json(ref: PageRef) -> dict[str, Any]:
    return {
        "url": ref.url,
        "source": ref.source,
        "discovered_from": ref.discovered_from,
        "title": ref.title,
        "published_at": ref.published_at.isoformat() if ref.published_at else None,
        "language": ref.language,
        "guid": ref.guid,
        "priority": ref.priority,
    }


def _ref_from_header(value: str | None) -> PageRef | None:
    if not value:
        return None
    try:
        data = json.loads(value)
        return PageRef(
            url=data["url"],
            source=data["source"],
            discovered_from=data.get("discovered_from") or "",
            title=data.get("title"),
            published_at=parse_datetime(data.get("published_at"), plausible=False),
            language=data.get("language"),
            guid=data.get("guid"),
            priority=int(data.get("priority") or 0),
        )
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable %s header: %s", REF_HEADER, exc)
        return None
