"""Progress of long work, reported by the stages that do it and shown by whoever runs them.

A stage (read, fingerprint, match, verify, write; fetch, extract) says where it is with three
calls, and knows nothing of how that is shown:

    from common import progress

    with progress.stage("fingerprint", total=len(texts)) as step:
        for batch in batches:
            ...
            step.advance(len(batch))

By default nothing is shown (`NullReporter`). The command line installs a reporter for the length
of a command (`use`): a rich progress bar on a terminal, periodic log lines otherwise
(flows.progress_display). A reporter that fails never stops the work: its error is logged once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

log = logging.getLogger(__name__)


class Reporter(Protocol):
    """What shows progress. Stages are named; a stage started again has its total raised."""

    def start(self, stage: str, total: int | None) -> None: ...

    def advance(self, stage: str, n: int) -> None: ...

    def finish(self, stage: str) -> None: ...


class NullReporter:
    """Shows nothing: the default, for library use and tests."""

    def start(self, stage: str, total: int | None) -> None:
        return None

    def advance(self, stage: str, n: int) -> None:
        return None

    def finish(self, stage: str) -> None:
        return None


_lock = threading.Lock()
_reporter: Reporter = NullReporter()
_failed = False


def current() -> Reporter:
    return _reporter


@contextmanager
def use(reporter: Reporter) -> Iterator[Reporter]:
    """Report to `reporter` inside the block (process-wide: Prefect runs tasks in threads)."""
    global _reporter
    with _lock:
        before, _reporter = _reporter, reporter
    try:
        yield reporter
    finally:
        with _lock:
            _reporter = before


def _call(method: str, *args: object) -> None:
    global _failed
    try:
        getattr(_reporter, method)(*args)
    except Exception:  # showing progress must never stop the work
        if not _failed:
            _failed = True
            log.warning("progress display failed; the work goes on without it", exc_info=True)


def start(stage: str, total: int | None = None) -> None:
    """Stage `stage` begins, with `total` items to do when known (added to a total given before)."""
    _call("start", stage, total)


def advance(stage: str, n: int = 1) -> None:
    """`n` more items of `stage` are done (a stage not started is started without a total)."""
    if n:
        _call("advance", stage, n)


def finish(stage: str) -> None:
    """Stage `stage` is over."""
    _call("finish", stage)


class Step:
    """One stage inside `stage(...)`: advance it as items are done."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def advance(self, n: int = 1) -> None:
        advance(self.name, n)


@contextmanager
def stage(name: str, total: int | None = None) -> Iterator[Step]:
    """Start stage `name`, yield it to advance, finish it when the block ends (however it ends)."""
    start(name, total)
    try:
        yield Step(name)
    finally:
        finish(name)
