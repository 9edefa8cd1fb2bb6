"""warcio with limits, for WARC files from anywhere: bounded header lines, records that fail alone.

warcio reads header lines with an unbounded ``readline`` (one 300 MB line in a 305 KB
``.warc.gz`` took a gigabyte), and a response record it cannot parse (no ``WARC-Target-URI``,
a broken HTTP status line) raises inside its iterator, which ends the whole file there. Here:

- a header line longer than `MAX_HEADER_LINE`, or a record whose header lines add up to more
  than `MAX_HEADER_BYTES`, stops the file with `HeaderTooLong` (no way to find the next record);
- a response record whose HTTP head cannot be read is handed on without ``http_headers`` and
  with the reason in ``record.copydesk_problem``; its body is skipped by its Content-Length, so
  the records after it are read as usual.
"""

from __future__ import annotations

from typing import Any, BinaryIO

#: Longest WARC or HTTP header line read.
MAX_HEADER_LINE = 64 * 1024
#: Most header bytes (WARC and HTTP headers together) one record may have.
MAX_HEADER_BYTES = 1024 * 1024
#: Attribute of a warcio record set to why its HTTP head could not be read.
PROBLEM = "copydesk_problem"


class HeaderTooLong(ValueError):
    """A WARC or HTTP header line (or a record's headers) longer than allowed."""


def archive_iterator(stream: BinaryIO) -> Any:
    """A warcio `ArchiveIterator` over `stream`, with the limits of this module."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.bufferedreaders import DecompressingBufferedReader
    from warcio.recordloader import ArcWarcRecordLoader
    from warcio.statusandheaders import StatusAndHeadersParserException

    class _Reader(DecompressingBufferedReader):
        """Header lines are the only thing read by line: bound them, and their sum between reads."""

        header_bytes = 0

        def readline(self, length: int | None = None) -> bytes:
            cap = MAX_HEADER_LINE if not length or length > MAX_HEADER_LINE else length
            line: bytes = super().readline(cap)
            if len(line) >= MAX_HEADER_LINE and not line.endswith(b"\n"):
                raise HeaderTooLong(f"a header line longer than {MAX_HEADER_LINE} bytes")
            self.header_bytes += len(line)
            if self.header_bytes > MAX_HEADER_BYTES:
                raise HeaderTooLong(f"headers of more than {MAX_HEADER_BYTES} bytes in one record")
            return line

        def read(self, length: int | None = None) -> bytes:
            self.header_bytes = 0
            data: bytes = super().read(length)
            return data

    class _Loader(ArcWarcRecordLoader):
        problem: str | None = None

        def parse_record_stream(self, stream: Any, *args: Any, **kwargs: Any) -> Any:
            self.problem = None
            record = super().parse_record_stream(stream, *args, **kwargs)
            setattr(record, PROBLEM, self.problem)
            return record

        def load_http_headers(self, rec_type: str, uri: str | None, stream: Any, length: Any) -> Any:
            if rec_type in self.HTTP_RECORDS and length != 0 and not uri:
                self.problem = "a response record without WARC-Target-URI"
                return None
            try:
                return super().load_http_headers(rec_type, uri, stream, length)
            except (StatusAndHeadersParserException, EOFError, ValueError) as exc:
                if isinstance(exc, HeaderTooLong):
                    raise
                self.problem = f"unreadable HTTP head ({type(exc).__name__}: {str(exc)[:200]})"
                return None

    iterator = ArchiveIterator(stream)
    iterator.reader = _Reader(iterator.fh, block_size=iterator.reader.block_size)
    iterator.loader = _Loader(verify_http=False, arc2warc=iterator.mixed_arc_warc)
    return iterator
