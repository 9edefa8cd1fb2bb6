"""How Copydesk's flows run their tasks: one at a time, with retries on transient errors, under the lease.

Shared by the pipeline, the backfill, re-clustering and re-extraction.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from typing import Any, ParamSpec, TypeVar, cast

from prefect import Task
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from common.storage import resolve
from flows.lease import Lease, hold, sweep_leftovers
from flows.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

# One task at a time (see `flows.pipeline`: two batches at once would double a host's rate).
# Prefect's TaskRunner is invariant in its future type, so its own ThreadPoolTaskRunner needs a
# cast to satisfy the decorator's annotation.
ONE_AT_A_TIME = cast("TaskRunner[PrefectFuture[Any]]", ThreadPoolTaskRunner(max_workers=1))


@contextlib.contextmanager
def leased(settings: Settings, *, run_id: str, what: str) -> Iterator[Lease]:
    """Hold the lease on the settings' output root (see `flows.lease`), and clear what a dead run left."""
    with hold(
        settings.out,
        holder=run_id,
        what=what,
        ttl_s=settings.lease_ttl_s,
        wait_s=settings.lease_wait_s,
        endpoint_url=settings.s3_endpoint_url,
    ) as lease:
        sweep_leftovers(resolve(settings.out, endpoint_url=settings.s3_endpoint_url))
        yield lease


def library_log_levels() -> None:
    """Let `ingest`, `dedup` and `flows`' plain modules report progress (INFO) through Prefect's handlers.

    Prefect attaches its handlers to them (``PREFECT_LOGGING_EXTRA_LOGGERS``, set by
    `flows.prefect_env`) but leaves their level to the root logger's WARNING.
    """
    for name in ("ingest", "dedup", "flows"):
        library = logging.getLogger(name)
        if library.level == logging.NOTSET:
            library.setLevel(logging.INFO)


def settings_with(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def retrying(task: Task[P, R], settings: Settings) -> Task[P, R]:
    """`task` with the retries the settings ask for, on transient errors only (see `flows.tasks`).

    Exponential backoff: the first retry waits `task_retry_delay_s`, each later one twice as long,
    give or take a fifth (jitter, so that tasks failing together do not retry together).
    """
    delays = exponential_backoff(settings.task_retry_delay_s)(settings.task_retries)
    return task.with_options(
        retries=settings.task_retries, retry_delay_seconds=delays or 0, retry_jitter_factor=0.2
    )


def current_run_id() -> str:
    from prefect.runtime import flow_run

    return str(flow_run.get_id() or uuid.uuid4())


def outcome(future: PrefectFuture[Any]) -> Any:
    """A task's return value, or the exception it failed with for good (after its retries)."""
    return future.result(raise_on_failure=False)
