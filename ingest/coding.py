"""HTTP content codings undone by us, chunk by chunk, with a bound on the decoded size.

httpx would inflate a ``Content-Encoding: gzip`` body before any size check could see it, and it
undoes stacked codings (``gzip, gzip``) one inside the other: 658 bytes sent that way grew the
process by 600 MB. So the fetcher reads the raw stream and decodes it here, where every call to
zlib is told how much it may produce. Only ``gzip`` (``x-gzip``) and ``deflate`` are asked for
and accepted, once: a stacked or unknown coding is refused, as a browser would fail on it.
"""

from __future__ import annotations

import zlib

from ingest.errors import Refused

#: What the fetcher sends as Accept-Encoding: only the codings `BodyDecoder` undoes.
ACCEPT_ENCODING = "gzip, deflate"
_GZIP = frozenset({"gzip", "x-gzip"})
_DEFLATE = frozenset({"deflate"})
_IDENTITY = frozenset({"", "identity"})


class BodyDecoder:
    """Decode a body sent with `content_encoding`, refusing it past `max_bytes` decoded bytes.

    With `truncate`, output stops at `max_bytes` instead (`done` turns true) rather than raising.

    Raises:
        Refused: a stacked or unknown coding (at construction), or a corrupt compressed stream.
        Refused: the decoded body passes `max_bytes` (unless `truncate`).
    """

    def __init__(self, content_encoding: str | None, *, max_bytes: int, what: str, truncate: bool = False):
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c not in _IDENTITY]
        if len(codings) > 1:
            raise Refused(f"{what} is sent with stacked content codings {content_encoding!r}; refused")
        coding = codings[0] if codings else ""
        if coding and coding not in _GZIP | _DEFLATE:
            raise Refused(f"{what} is sent with content coding {coding!r}, which is not fetched")
        self.coding = coding
        self.max_bytes = max_bytes
        self.size = 0
        self.done = False
        self._what = what
        self._truncate = truncate
        self._inflater: zlib._Decompress | None = None
        self._pending = b""  # start of a deflate stream, until its kind (zlib or raw) is known
        self._ended = False

    def feed(self, chunk: bytes) -> bytes:
        """The decoded bytes `chunk` yields (may be empty)."""
        if self.done or not chunk:
            return b""
        if not self.coding:
            return self._take(chunk)
        out: list[bytes] = []
        data = chunk
        try:
            while data and not self.done:
                if self._inflater is None:
                    data = self._start(data)
                    if self._inflater is None:
                        break
                if self._ended:  # after the end of a stream: a next gzip member, or padding
                    data = data.lstrip(b"\x00")
                    if not data:
                        break
                    if self.coding not in _GZIP:
                        break  # deflate has one stream; trailing bytes are ignored, as zlib does
                    self._inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                    self._ended = False
                budget = self.max_bytes - self.size + 1
                piece = self._inflater.decompress(data, budget)
                out.append(self._take(piece))
                if self._inflater.eof:
                    self._ended = True
                    data = self._inflater.unused_data
                else:
                    data = self._inflater.unconsumed_tail
        except zlib.error as exc:
            raise Refused(f"{self._what}: corrupt {self.coding} body ({exc})") from exc
        return b"".join(out)

    def finish(self) -> None:
        """Check the stream ended cleanly (a cut-off gzip body is refused, not half-read)."""
        if self.done or not self.coding:
            return
        if self._inflater is None and self._pending:
            raise Refused(f"{self._what}: truncated {self.coding} body")
        if self._inflater is not None and not self._ended:
            raise Refused(f"{self._what}: truncated {self.coding} body")

    def _start(self, data: bytes) -> bytes:
        if self.coding in _GZIP:
            self._inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            return data
        # "deflate" is meant to be zlib-wrapped, but many servers send raw deflate: tell by the header.
        self._pending += data
        if len(self._pending) < 2:
            return b""
        head = self._pending[:2]
        wrapped = (head[0] & 0x0F) == 8 and int.from_bytes(head, "big") % 31 == 0
        self._inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        data, self._pending = self._pending, b""
        return data

    def _take(self, piece: bytes) -> bytes:
        room = self.max_bytes - self.size
        if len(piece) > room:
            if not self._truncate:
                raise Refused(f"{self._what} is larger than the {self.max_bytes} bytes allowed")
            self.done = True
            piece = piece[:room]
        self.size += len(piece)
        return piece
