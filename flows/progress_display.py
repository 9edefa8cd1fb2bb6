"""How the command line shows the progress that stages report (common.progress): a rich progress
bar per stage (count, rate, ETA) when stderr is a terminal, and plain log lines every few seconds
when it is not (CI, a pipe): they go through logging, to where the command sends its logs."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from common import progress

#: Under `flows`, so the lines go where the commands send flows' logs (Prefect's handlers, or
#: the dedup command's stderr handler).
log = logging.getLogger("flows.progress")
#: Seconds between two log lines of one stage in the plain mode.
LOG_EVERY_S = 10.0


class RichReporter:
    """One bar per stage: done / total, items per second, time left (total known) or elapsed."""

    def __init__(self, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _task(self, stage: str) -> Any:
        if stage not in self._tasks:
            self._tasks[stage] = self.bar.add_task(stage, total=None, rate="")
        return self._tasks[stage]

    def start(self, stage: str, total: int | None) -> None:
        with self._lock:
            task = self._task(stage)
            if total:  # none, or nothing planned yet (a WARC's pages are counted as they are read)
                before = self.bar.tasks[self._index(task)].total or 0
                self.bar.update(task, total=before + total)
            self.bar.start_task(task)

    def _index(self, task: Any) -> int:
        return next(i for i, t in enumerate(self.bar.tasks) if t.id == task)

    def advance(self, stage: str, n: int) -> None:
        with self._lock:
            task = self._task(stage)
            self.bar.advance(task, n)
            speed = self.bar.tasks[self._index(task)].speed
            self.bar.update(task, rate=f"{speed:,.0f}/s" if speed else "")

    def finish(self, stage: str) -> None:
        with self._lock:
            self._close(self._task(stage))

    def finish_all(self) -> None:
        """The work is over: every stage stops at the count it reached (some never say they end)."""
        with self._lock:
            for task in self._tasks.values():
                self._close(task)

    def _close(self, task: Any) -> None:
        state = self.bar.tasks[self._index(task)]
        if state.total is None or state.completed > state.total:
            self.bar.update(task, total=state.completed)
        self.bar.stop_task(task)


@dataclass
class _Count:
    started: float
    total: int | None = None
    done: int = 0
    logged: float = field(default=0.0)


class LogReporter:
    """Plain lines: `fingerprint: 40,000/100,000 (12,000/s, ETA 5 s)` at most every `every_s` per
    stage, and one line when a stage ends."""

    def __init__(self, logger: logging.Logger = log, *, every_s: float = LOG_EVERY_S) -> None:
        self.log = logger
        self.every_s = every_s
        self._stages: dict[str, _Count] = {}
        self._lock = threading.Lock()

    def _stage(self, stage: str) -> _Count:
        now = time.monotonic()
        return self._stages.setdefault(stage, _Count(started=now, logged=now))

    def start(self, stage: str, total: int | None) -> None:
        with self._lock:
            count = self._stage(stage)
            if total is not None:
                count.total = (count.total or 0) + total

    def advance(self, stage: str, n: int) -> None:
        with self._lock:
            count = self._stage(stage)
            count.done += n
            now = time.monotonic()
            if now - count.logged < self.every_s:
                return
            count.logged = now
            self.log.info("%s: %s", stage, _line(count, now))

    def finish(self, stage: str) -> None:
        with self._lock:
            count = self._stages.pop(stage, None)
            if count is None:
                return
            now = time.monotonic()
            self.log.info(
                "%s: done, %s items in %.1f s%s",
                stage,
                f"{count.done:,}",
                now - count.started,
                _rate(count, now),
            )


def _rate(count: _Count, now: float) -> str:
    elapsed = now - count.started
    return f" ({count.done / elapsed:,.0f}/s)" if elapsed > 0 and count.done else ""


def _line(count: _Count, now: float) -> str:
    done = f"{count.done:,}" + (f"/{count.total:,}" if count.total else "")
    elapsed = now - count.started
    rate = count.done / elapsed if elapsed > 0 else 0.0
    eta = ""
    if count.total and rate > 0 and count.done < count.total:
        eta = f", ETA {(count.total - count.done) / rate:,.0f} s"
    return f"{done} ({rate:,.0f}/s{eta})"


@contextmanager
def display(stream: IO[str] | None = None) -> Iterator[progress.Reporter]:
    """Show the progress of the work inside the block on `stream` (stderr): bars on a terminal,
    log lines otherwise."""
    stream = stream if stream is not None else sys.stderr
    if _is_terminal(stream):
        from rich.console import Console

        bars = RichReporter(Console(file=stream))
        with bars.bar, progress.use(bars):
            try:
                yield bars
            finally:
                bars.finish_all()
        return
    with progress.use(LogReporter()) as lines:
        yield lines


def _is_terminal(stream: IO[str]) -> bool:
    import os

    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except ValueError:  # a closed stream
        return False
