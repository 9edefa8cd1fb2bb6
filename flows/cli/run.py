"""The commands that ingest: `run` once, `backfill` past days, `serve` the deployments on a schedule.

    copydesk run [SOURCE...] [--sources-file F] [--out URI] [--batch-size N]
    copydesk backfill [SOURCE...] --start YYYY-MM-DD --end YYYY-MM-DD [--sources-file F] [--out URI] [--redo]
    copydesk serve [SOURCE...] [--sources-file F] [--out URI] [--cron EXPR | --every MINUTES]

Each checks its arguments and settings first (a bad one is a one-line message, exit code 2),
then sets Prefect's environment, then imports the flow.
"""

from __future__ import annotations

import argparse
import os
from typing import Any
from urllib.parse import urlparse

from flows.cli._common import (
    add_range,
    add_sources_file,
    check_range,
    check_settings,
    check_sources,
    check_sources_file,
    dask_spec,
    print_summary,
)


def register(sub: Any) -> None:
    """Add `run`, `backfill` and `serve` to the `copydesk` parser's subparsers."""
    run = sub.add_parser("run", help="run the pipeline over the given sources")
    run.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="feed:URL, sitemap:URL, urls:FILE, warc:PATH or dir:PATH",
    )
    add_sources_file(run)
    run.add_argument("--out", default=None, help="output root, a folder or s3://bucket/prefix (COPYDESK_OUT)")
    run.add_argument(
        "--batch-size", type=int, default=None, help="articles per ingest task (COPYDESK_BATCH_SIZE)"
    )
    run.set_defaults(handler=_cmd_run)

    backfill = sub.add_parser(
        "backfill", help="ingest past days from WARCs, folders or dated sitemaps, one day at a time"
    )
    backfill.add_argument("sources", nargs="*", metavar="SOURCE", help="warc:PATH, dir:PATH, sitemap:URL...")
    add_sources_file(backfill)
    add_range(backfill)
    backfill.add_argument("--out", default=None, help="output root, a folder or s3://bucket/prefix")
    backfill.add_argument(
        "--redo", action="store_true", help="run the days recorded as finished again (adds no rows)"
    )
    backfill.add_argument("--batch-size", type=int, default=None, help="articles per ingest task")
    backfill.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="run the ingest tasks on a Dask cluster: a scheduler address, or local[:N] for a LocalCluster "
        "of N workers (default COPYDESK_DASK_ADDRESS; without either, in this process)",
    )
    backfill.set_defaults(handler=_cmd_backfill)

    serve = sub.add_parser(
        "serve", help="serve the deployments: the pipeline on a schedule, the rest by hand"
    )
    serve.add_argument(
        "sources", nargs="*", metavar="SOURCE", help="sources of the scheduled pipeline (COPYDESK_SOURCES)"
    )
    add_sources_file(serve)
    serve.add_argument("--out", default=None, help="output root (COPYDESK_OUT)")
    when = serve.add_mutually_exclusive_group()
    when.add_argument("--cron", default=None, help="cron expression of the schedule (COPYDESK_SCHEDULE_CRON)")
    when.add_argument(
        "--every", type=float, default=None, metavar="MINUTES", help="minutes between runs (default 15)"
    )
    serve.set_defaults(handler=_cmd_serve)


def _cmd_run(args: argparse.Namespace) -> int:
    from flows.prefect_env import configure

    check_sources(args.sources)
    check_settings(out=args.out, batch_size=args.batch_size, sources_file=args.sources_file)
    sources_file = check_sources_file(args.sources_file, required=not args.sources)
    configure(args.out)
    from flows.pipeline import pipeline

    summary = pipeline(list(args.sources), args.out, batch_size=args.batch_size, sources_file=sources_file)
    return print_summary(summary, title="Copydesk run")


def _cmd_backfill(args: argparse.Namespace) -> int:
    from flows.cli._common import BadSettings
    from flows.dask_runner import DaskSetupError
    from flows.prefect_env import configure

    check_sources(args.sources)
    check_range(args)
    check_settings(out=args.out, batch_size=args.batch_size, sources_file=args.sources_file)
    sources_file = check_sources_file(args.sources_file, required=not args.sources)
    args.dask = dask_spec(args.dask)
    configure(args.out)
    from flows.dask_flows import backfill_on

    try:
        summary = backfill_on(
            args.dask,
            list(args.sources),
            args.start,
            args.end,
            args.out,
            redo=args.redo,
            batch_size=args.batch_size,
            sources_file=sources_file,
        )
    except DaskSetupError as exc:
        raise BadSettings(str(exc)) from exc
    extra = [("days done", len(summary.days_done)), ("days skipped (done before)", len(summary.days_skipped))]
    return print_summary(summary, title=f"Copydesk backfill {args.start}..{args.end}", extra=extra)


def _cmd_serve(args: argparse.Namespace) -> int:
    from flows.prefect_env import configure
    from flows.settings import Settings

    overrides: dict[str, Any] = {"out": args.out}
    if args.sources:
        overrides["sources"] = list(args.sources)
    if args.sources_file:
        overrides["sources_file"] = args.sources_file
    if args.cron:
        overrides["schedule_cron"] = args.cron
    if args.every:
        overrides["schedule_interval_min"], overrides["schedule_cron"] = args.every, None
    check_settings(**overrides)
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None or k == "schedule_cron"})
    check_sources(settings.sources)
    if settings.sources_file:
        settings = settings.model_copy(
            update={"sources_file": check_sources_file(settings.sources_file, required=False)}
        )
    if urlparse(settings.out).scheme != "s3":  # served runs may start in another folder
        settings = settings.model_copy(update={"out": os.path.abspath(settings.out)})
    configure(settings.out)
    from flows.deployments import serve

    serve(settings)
    return 0
