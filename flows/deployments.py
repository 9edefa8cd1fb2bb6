"""`copydesk serve`: the four flows as Prefect deployments, served from this process.

    copydesk-pipeline/scheduled   the configured sources, on the configured schedule
                                  (COPYDESK_SCHEDULE_CRON, else every COPYDESK_SCHEDULE_INTERVAL_MIN minutes)
    copydesk-backfill/by-hand     the same sources over past days: give `start` and `end` when running it
    copydesk-dedup/by-hand        group a date range again (`start`, `end`; `dask` for a Dask cluster)
    copydesk-reextract/by-hand    rebuild articles/ from the raw archive

They report to the Prefect API in PREFECT_API_URL; without one, `serve` first starts a local
Prefect server (``prefect server start`` on 127.0.0.1:COPYDESK_SERVER_PORT, its database in
PREFECT_HOME) and stops it on exit. `infra/prefect.yaml` describes the same deployments for a work
pool. Prefect is imported only once the API is known: it reads its settings at import.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from common.errors import PermanentError
from flows.settings import Settings

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

log = logging.getLogger(__name__)

PIPELINE = "copydesk-pipeline/scheduled"
BACKFILL = "copydesk-backfill/by-hand"
DEDUP = "copydesk-dedup/by-hand"
REEXTRACT = "copydesk-reextract/by-hand"


#: Five cron fields (minute hour day month weekday); Prefect checks each field's values.
_CRON = re.compile(r"(\S+\s+){4}\S+|@(yearly|annually|monthly|weekly|daily|hourly)")


class ServeError(PermanentError):
    """The deployments cannot be served: no sources, a bad schedule, a local server that did not start."""


def check(settings: Settings) -> None:
    """Refuse, in one line, settings that cannot be served (without importing Prefect)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not settings.sources and not settings.sources_file:
        raise ServeError(
            "no sources to schedule: give SOURCE arguments or --sources-file, or set COPYDESK_SOURCES "
            "(e.g. 'feed:https://news.example/rss sitemap:https://news.example/sitemap.xml')"
        )
    if settings.schedule_cron and not _CRON.fullmatch(settings.schedule_cron.strip()):
        raise ServeError(f"COPYDESK_SCHEDULE_CRON {settings.schedule_cron!r} is not a cron expression")
    try:
        ZoneInfo(settings.schedule_timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ServeError(
            f"COPYDESK_SCHEDULE_TIMEZONE {settings.schedule_timezone!r} is not a time zone"
        ) from exc


def schedule_of(settings: Settings) -> Any:
    """The pipeline's schedule: the cron expression if set, else the interval."""
    from prefect.schedules import Cron, Interval

    if settings.schedule_cron:
        try:
            return Cron(settings.schedule_cron, timezone=settings.schedule_timezone)
        except ValueError as exc:
            raise ServeError(f"bad COPYDESK_SCHEDULE_CRON {settings.schedule_cron!r}: {exc}") from exc
    return Interval(timedelta(minutes=settings.schedule_interval_min), timezone=settings.schedule_timezone)


def deployments(settings: Settings) -> list[RunnerDeployment]:
    """The four deployments, their default parameters from `settings` (sources and output root)."""
    from prefect.types.entrypoint import EntrypointType

    from flows.backfill import backfill
    from flows.pipeline import pipeline
    from flows.recluster import dedup_range
    from flows.reextract import reextract

    check(settings)
    common: dict[str, Any] = {"entrypoint_type": EntrypointType.MODULE_PATH, "tags": ["copydesk"]}
    sources: dict[str, Any] = {"sources": list(settings.sources), "out": settings.out}
    if settings.sources_file:
        sources["sources_file"] = settings.sources_file
    made = [
        pipeline.to_deployment(
            PIPELINE.split("/")[1],
            schedules=[schedule_of(settings)],
            parameters=sources,
            description="Ingest and deduplicate the configured sources.",
            **common,
        ),
        backfill.to_deployment(
            BACKFILL.split("/")[1],
            parameters=sources,
            description="Backfill past days of the configured sources: give start and end (YYYY-MM-DD).",
            **common,
        ),
        dedup_range.to_deployment(
            DEDUP.split("/")[1],
            parameters={"out": settings.out},
            description="Group the articles of a date range again: give start and end (YYYY-MM-DD); "
            "on the Dask cluster in COPYDESK_DASK_ADDRESS or `dask` when set.",
            **common,
        ),
        reextract.to_deployment(
            REEXTRACT.split("/")[1],
            parameters={"out": settings.out},
            description="Rebuild articles/ from the raw archive.",
            **common,
        ),
    ]
    return cast("list[RunnerDeployment]", made)  # to_deployment is sync here, whatever its annotation


def serve(settings: Settings) -> None:
    """Serve the deployments until interrupted, against PREFECT_API_URL or a local server."""
    check(settings)  # fail on bad settings before starting anything
    with contextlib.ExitStack() as stack:
        if not os.environ.get("PREFECT_API_URL"):
            if "prefect" in sys.modules:
                raise ServeError("prefect was imported before its API was chosen")
            url = stack.enter_context(local_server(settings.server_port))
            os.environ["PREFECT_API_URL"] = url
            print(f"Prefect UI: {url.removesuffix('/api')}", flush=True)
        from prefect import serve as prefect_serve

        prefect_serve(*deployments(settings))


@contextlib.contextmanager
def local_server(port: int, *, timeout_s: float = 180.0) -> Iterator[str]:
    """Run ``prefect server start`` on 127.0.0.1:`port` for the block; yields its API URL."""
    import httpx

    url = f"http://127.0.0.1:{port}/api"
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect")
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "server.log"
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("ab") as log_file:
        proc = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
                raise ServeError(f"the local Prefect server stopped at start (see {log_path}): {tail}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise ServeError(f"the local Prefect server did not answer on {url} in {timeout_s:.0f} s")
            time.sleep(0.5)
        log.info("local Prefect server on %s (log: %s)", url, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
