"""Pages archived a few at a time, each handed on (to extraction) once kept, in the order given.

Keeping a page durably costs more waiting than work: on a local disk, a write, an fsync, a rename
and an fsync of its folder (`common.storage.write_bytes`), about 6 ms of a quiet disk's time for
well under 1 ms of CPU; on S3, two or three requests. One page after the other, that wait alone
held ingestion to 160-190 pages a second (``make bench``). Several pages at a time, their waits
overlap and the file system commits their fsyncs together (fewer journal commits: less CPU too).

Pages go on to `handed` in the order they were submitted, whatever order their writes end in, so
a batch's articles come out in the same order as before; a page that cannot be kept goes to
`failed` instead, in its turn.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from ingest.archive import RawArchive
from ingest.records import RawPage

log = logging.getLogger(__name__)

#: Pages being archived at once. Four hide a local fsync's wait behind the next pages' (measured on
#: the bench's disk: 6.3 ms a page one at a time, 0.6 ms with four); more gain nothing there.
ARCHIVE_THREADS = 4


class Archiver:
    """Archive pages in `threads` threads; each kept page goes to `handed` (with its ``raw_uri``),
    each page that could not be kept to `failed`, one call at a time, in the order of `submit`.

    Leaving the ``with`` block waits for every page submitted.
    """

    def __init__(
        self,
        archive: RawArchive,
        *,
        handed: Callable[[RawPage], None],
        failed: Callable[[RawPage, BaseException], None],
        threads: int = ARCHIVE_THREADS,
    ) -> None:
        self._archive = archive
        self._handed = handed
        self._failed = failed
        self._pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="copydesk-archive")
        self._lock = threading.Lock()
        self._queue: deque[tuple[RawPage, Future[str]]] = deque()
        #: Errors of the `failed` callback itself, raised by `close` (a pool thread's would be only logged).
        self._broken: list[BaseException] = []

    def submit(self, page: RawPage) -> None:
        """Start archiving `page`."""
        with self._lock:
            future = self._pool.submit(self._archive.put, page)
            self._queue.append((page, future))
        future.add_done_callback(self._release)

    def _release(self, _done: Future[str]) -> None:
        """Hand on every page at the head of the queue whose write has ended (runs in the pool's threads)."""
        with self._lock:
            while self._queue and self._queue[0][1].done():
                page, future = self._queue.popleft()
                try:
                    self._settle(page, future)
                except BaseException as error:  # the pages behind it are still handed on; close raises it
                    self._broken.append(error)

    def _settle(self, page: RawPage, future: Future[str]) -> None:
        exc = future.exception()
        if exc is None:
            try:
                self._handed(dataclasses.replace(page, raw_uri=future.result()))
            except Exception as error:  # a callback's error must not lose the pages behind it
                self._failed(page, error)
        else:
            self._failed(page, exc)

    def close(self) -> None:
        """Wait until every submitted page has been archived and handed on.

        Raises:
            BaseException: the first error raised by the `failed` callback (that page has no error row).
        """
        self._pool.shutdown(wait=True)
        if self._broken:
            raise self._broken[0]

    def __enter__(self) -> Archiver:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.close()
            return
        self._pool.shutdown(wait=True)  # the block's own error goes on; a callback's is only logged
        for error in self._broken:
            log.error("archiving callback failed while the batch was failing: %r", error, exc_info=error)
