"""Extraction on every core: pages go to a process pool in chunks, articles come back.

Extraction is CPU-bound (trafilatura parses and walks each page in Python), so one process
extracts about as fast as one core allows. `ExtractJobs` hands pages to a pool of worker
processes as they arrive, while the caller keeps fetching and archiving, and gives back one
outcome per page, in the order the pages were added: the `Article`, or a `Failure` saying why not.

- The pool lives for the whole process (created on first use, shut down at exit), so a batch
  does not pay for starting workers; its processes come from a fork server, which is safe in a
  process that runs threads (Prefect, the fetcher) and cheap to refork.
- A worker that dies (killed, out of memory, a crash in native code) breaks the pool: the pages
  it held are retried one by one in a fresh pool, and the page that kills a worker again becomes
  a ``WorkerDied`` failure; the other pages are not lost.
- A page gets `PAGE_CPU_LIMIT_S` seconds of CPU (a 4.6 MB page once took 18.5 s): past it, its
  extraction is stopped (a SIGPROF timer in the worker) and the page becomes an ``ExtractTimeout``
  failure, a permanent error row; the worker goes on with the next page. A page stuck where no
  signal reaches it (inside native code) is caught by the caller: a chunk not back after
  `wait_limit` seconds has its workers killed and its pages retried one by one, as for a dead
  worker, and the page that hangs again becomes an ``ExtractTimeout``.
- A worker ends when the process that started the pool ends, however it ends: killed with SIGKILL
  (the OOM killer, a deployment's kill), that process runs no clean-up, and its workers, forked by
  the fork server and each holding both ends of the pool's task queue, would wait for tasks for
  ever and keep the fork server alive (some 60 MB each). Each watches its owner (`_watch_owner`).
- ``workers=1`` (or 0) extracts in the calling process, as does any chunk while the pool cannot start
  (the CPU limit holds there too when that is the main thread, where signals can be handled).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass

from ingest.errors import ExtractTimeout, IngestError
from ingest.extract import MIN_WORDS, extract_page
from ingest.records import Article, RawPage

log = logging.getLogger(__name__)

#: Pages per chunk sent to a worker, at most: small enough to keep both cores busy until the end.
MAX_CHUNK = 16
#: Fresh pools tried while isolating a page that kills its worker, before giving up on the rest.
MAX_RESTARTS = 3
#: CPU seconds one page may take to extract (typical pages take 5-20 ms; the worst real one, 18.5 s).
PAGE_CPU_LIMIT_S = 10.0
#: A chunk is waited for this many times its pages' CPU limits (plus `WAIT_MARGIN_S`) before its
#: workers are taken for stuck: a busy machine stretches CPU seconds into more wall seconds.
WAIT_FACTOR = 4
WAIT_MARGIN_S = 60.0
_PRELOAD = ["ingest.extract", "trafilatura", "htmldate", "py3langid"]

ExtractFn = Callable[..., Article]

_lock = threading.Lock()
_executor: ProcessPoolExecutor | None = None
_executor_workers = 0


@dataclass(slots=True)
class Failure:
    """Why a page did not become an article: the exception's class name and message.

    `expected` is False for errors that are not `IngestError`s (a library bug, a dead worker).
    """

    kind: str
    message: str
    expected: bool = True

    @classmethod
    def of(cls, exc: BaseException) -> Failure:
        return cls(type(exc).__name__, str(exc) or type(exc).__name__, isinstance(exc, IngestError))


Outcome = Article | Failure


def default_workers() -> int:
    """Worker processes used when none is asked for: the CPUs this process may run on, or 1 (this
    process) in a daemonic process such as a Dask worker, which may not start children and is
    itself one of the processes the work is spread over."""
    import multiprocessing

    if multiprocessing.current_process().daemon:
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _executor_for(workers: int) -> ProcessPoolExecutor:
    """The shared pool, created (or resized) on first use."""
    global _executor, _executor_workers
    with _lock:
        if _executor is None or _executor_workers != workers:
            import multiprocessing

            if _executor is not None:
                _executor.shutdown(wait=False, cancel_futures=True)
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            _executor = ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=_watch_owner, initargs=(os.getpid(),)
            )
            _executor_workers = workers
            log.info("started an extraction pool of %d worker processes", workers)
        return _executor


def _watch_owner(owner: int) -> None:
    """Worker initializer: a daemon thread that ends this worker when process `owner` (the one
    that started the pool) has ended."""
    threading.Thread(target=_exit_after, args=(owner,), name="copydesk-owner", daemon=True).start()


#: Seconds between two looks at the owner where it cannot be waited for (no pidfd).
OWNER_POLL_S = 1.0


def _exit_after(owner: int) -> None:
    """Wait for process `owner` to end (a pidfd where Linux has one, else a look every
    `OWNER_POLL_S`), then end this process at once: there is no one left to give results to."""
    try:
        fd = os.pidfd_open(owner)
    except ProcessLookupError:
        os._exit(0)
    except (AttributeError, OSError):  # not Linux, or a kernel before 5.3
        fd = -1
    if fd >= 0:
        select.select([fd], [], [])
        os._exit(0)
    while True:
        time.sleep(OWNER_POLL_S)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # alive, under another user
            continue


def _discard(executor: ProcessPoolExecutor) -> None:
    """Forget a broken pool (the next call starts a new one)."""
    global _executor, _executor_workers
    with _lock:
        if _executor is executor:
            _executor, _executor_workers = None, 0
    executor.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop the shared pool's workers (registered to run at exit)."""
    global _executor, _executor_workers
    with _lock:
        executor, _executor, _executor_workers = _executor, None, 0
    if executor is not None:
        executor.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown)


def warm_up(workers: int | None = None) -> list[int]:
    """Start the shared pool's workers now rather than in the first batch; returns their process ids."""
    count = default_workers() if workers is None else workers
    if count <= 1:
        return []
    executor = _executor_for(count)
    return sorted({f.result() for f in [executor.submit(os.getpid) for _ in range(count * 2)]})


def worker_pids() -> list[int]:
    """Process ids of the shared pool's workers (empty while it is not running), for measurements."""
    with _lock:
        executor = _executor
    return sorted(getattr(executor, "_processes", None) or {}) if executor is not None else []


class _OverTime(BaseException):
    """Raised by the CPU timer inside an extraction; a BaseException, so no library's
    ``except Exception`` swallows it and goes on with the page."""


@contextmanager
def _cpu_limit(seconds: float) -> Iterator[None]:
    """Raise `_OverTime` in this thread once the process has used `seconds` more CPU (main thread only)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def over(signum: int, frame: object) -> None:
        raise _OverTime

    previous = signal.signal(signal.SIGPROF, over)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _timeout(page: RawPage, seconds: float, what: str = "of CPU") -> Failure:
    return Failure.of(
        ExtractTimeout(f"{page.final_url} took more than {seconds:g} s {what} to extract: given up")
    )


def extract_chunk(
    pages: list[RawPage],
    min_words: int,
    extract: ExtractFn = extract_page,
    cpu_limit_s: float = PAGE_CPU_LIMIT_S,
) -> list[Outcome]:
    """Extract `pages` in this process; runs in the workers. Never raises for one page."""
    out: list[Outcome] = []
    for page in pages:
        outcome: Outcome
        try:
            with _cpu_limit(cpu_limit_s):
                outcome = extract(page, min_words=min_words)
        except _OverTime:
            log.warning("extraction of %s stopped after %g s of CPU", page.final_url, cpu_limit_s)
            outcome = _timeout(page, cpu_limit_s)
        except Exception as exc:  # one bad page must not lose its chunk; the caller logs unexpected ones
            outcome = Failure.of(exc)
        out.append(outcome)
    return out


def _kill_workers(executor: ProcessPoolExecutor) -> None:
    """Kill the pool's worker processes (one is stuck), then forget the pool."""
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, AttributeError):  # already gone
            process.kill()
    _discard(executor)


class ExtractJobs:
    """Pages handed to the pool as they come (`add`); their outcomes, in order, from `results`.

    Args:
        workers: worker processes; None for `default_workers()`, 1 or less to extract in-process.
        expected: how many pages will be added, to size the chunks (None: `MAX_CHUNK`).
        extract: the function run on each page (a module-level function, so workers can import it).
        cpu_limit_s: CPU seconds a page may take (None: `PAGE_CPU_LIMIT_S`; 0: no limit).
        wait_margin_s: seconds added to a chunk's wait before its workers count as stuck
            (None: `WAIT_MARGIN_S`).
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        min_words: int = MIN_WORDS,
        expected: int | None = None,
        extract: ExtractFn = extract_page,
        cpu_limit_s: float | None = None,
        wait_margin_s: float | None = None,
    ) -> None:
        self.workers = default_workers() if workers is None else max(1, workers)
        self.min_words = min_words
        self.extract = extract
        self.cpu_limit_s = PAGE_CPU_LIMIT_S if cpu_limit_s is None else cpu_limit_s
        self.wait_margin_s = WAIT_MARGIN_S if wait_margin_s is None else wait_margin_s
        share = math.ceil(expected / (self.workers * 4)) if expected else MAX_CHUNK
        self.chunk_size = max(1, min(MAX_CHUNK, share))
        self._pages: list[RawPage] = []
        self._pending: list[RawPage] = []
        self._chunks: list[tuple[int, int, Future[list[Outcome]] | None]] = []
        self._executor: ProcessPoolExecutor | None = None

    def add(self, page: RawPage) -> None:
        """Queue `page`; a full chunk goes to the pool at once (in-process, all wait for `results`)."""
        self._pages.append(page)
        self._pending.append(page)
        if self.workers > 1 and len(self._pending) >= self.chunk_size:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        chunk, self._pending = self._pending, []
        start = len(self._pages) - len(chunk)
        self._chunks.append((start, len(chunk), self._submit(chunk)))

    def _submit(self, chunk: list[RawPage]) -> Future[list[Outcome]] | None:
        """The chunk's job in the pool, or None: extracted in this process by `results`."""
        if self.workers <= 1:
            return None
        executor = None
        try:
            executor = self._executor = _executor_for(self.workers)
            return executor.submit(extract_chunk, chunk, self.min_words, self.extract, self.cpu_limit_s)
        except Exception as exc:  # no processes here (a daemonic worker, a sandbox, no semaphores)
            # Not now: `add` runs in whatever thread hands pages on (the archiver's, holding its
            # lock), where the CPU limit cannot be set; `results` extracts in the caller's thread.
            log.warning("no extraction pool (%r): extracting in this process", exc)
            if executor is not None:
                _discard(executor)
            self.workers = 1
            return None

    def results(self) -> list[tuple[RawPage, Outcome]]:
        """Wait for every page added; one (page, outcome) per page, in the order added."""
        self._flush()
        outcomes: list[Outcome | None] = [None] * len(self._pages)
        broken: list[int] = []
        for start, size, job in self._chunks:
            if job is None:
                chunk = self._pages[start : start + size]
                outcomes[start : start + size] = extract_chunk(
                    chunk, self.min_words, self.extract, self.cpu_limit_s
                )
                continue
            try:
                outcomes[start : start + size] = job.result(timeout=self.wait_limit(size))
            except TimeoutError:
                log.warning("%d pages not extracted in time: killing the stuck workers", size)
                if self._executor is not None:
                    _kill_workers(self._executor)
                broken.extend(range(start, start + size))
            except BrokenProcessPool:
                broken.extend(range(start, start + size))
            except Exception as exc:  # the chunk could not be sent or read back (pickling)
                log.warning("extraction of %d pages failed in the pool: %r", size, exc)
                outcomes[start : start + size] = [Failure.of(exc)] * size
        if broken:
            if self._executor is not None:
                _discard(self._executor)
            self._isolate(broken, outcomes)
        done = [
            (page, outcome)
            for page, outcome in zip(self._pages, outcomes, strict=True)
            if outcome is not None
        ]
        assert len(done) == len(self._pages), "every page has an outcome"
        self._pages, self._chunks, self._executor = [], [], None
        return done

    def wait_limit(self, pages: int) -> float | None:
        """Seconds a chunk of `pages` is waited for before its workers count as stuck (None: no end)."""
        if self.cpu_limit_s <= 0:
            return None
        return WAIT_FACTOR * self.cpu_limit_s * pages + self.wait_margin_s

    def _isolate(self, indices: list[int], outcomes: list[Outcome | None]) -> None:
        """Retry the pages of chunks whose worker died, one page per task, in fresh pools."""
        log.warning("an extraction worker died; retrying its %d pages one by one", len(indices))
        restarts = 0
        for i in indices:
            page = self._pages[i]
            if restarts >= MAX_RESTARTS:
                outcomes[i] = Failure("WorkerDied", "not extracted: extraction workers kept dying", False)
                continue
            executor = _executor_for(self.workers)
            try:
                future = executor.submit(
                    extract_chunk, [page], self.min_words, self.extract, self.cpu_limit_s
                )
            except BrokenProcessPool:  # broken meanwhile by another batch sharing the pool
                _discard(executor)
                executor = _executor_for(self.workers)
                future = executor.submit(
                    extract_chunk, [page], self.min_words, self.extract, self.cpu_limit_s
                )
            try:
                outcomes[i] = future.result(timeout=self.wait_limit(1))[0]
            except TimeoutError:
                _kill_workers(executor)
                restarts += 1
                outcomes[i] = _timeout(page, self.wait_limit(1) or 0, "of waiting (stuck)")
            except BrokenProcessPool:
                _discard(executor)
                restarts += 1
                outcomes[i] = Failure("WorkerDied", "the extraction worker died on this page", False)
            except Exception as exc:
                outcomes[i] = Failure.of(exc)
