"""The commands that run Copydesk's other flows: `backfill`, `serve`, `recluster`, `reextract`.

    copydesk backfill [SOURCE...] --start YYYY-MM-DD --end YYYY-MM-DD [--sources-file F] [--out URI] [--redo]
    copydesk serve [SOURCE...] [--sources-file F] [--out URI] [--cron EXPR | --every MINUTES]
    copydesk recluster --start YYYY-MM-DD --end YYYY-MM-DD [--out URI]
    copydesk reextract [--out URI] [--workers N]

Each checks its arguments and settings first (a bad one is a one-line message, exit code 2),
then sets Prefect's environment, then imports the flow.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from typing import Any
from urllib.parse import urlparse

from flows.cli import (
    EXIT_BUSY,
    add_sources_file,
    check_settings,
    check_sources_file,
    print_summary,
    print_table,
)


def add_commands(sub: Any) -> None:
    """Add the commands to the `copydesk` parser's subparsers."""
    backfill = sub.add_parser(
        "backfill", help="ingest past days from WARCs, folders or dated sitemaps, one day at a time"
    )
    backfill.add_argument("sources", nargs="*", metavar="SOURCE", help="warc:PATH, dir:PATH, sitemap:URL...")
    add_sources_file(backfill)
    _range(backfill)
    backfill.add_argument("--out", default=None, help="output root, a folder or s3://bucket/prefix")
    backfill.add_argument(
        "--redo", action="store_true", help="run the days recorded as finished again (adds no rows)"
    )
    backfill.add_argument("--batch-size", type=int, default=None, help="articles per ingest task")
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

    recluster = sub.add_parser("recluster", help="group the articles of a date range again, from scratch")
    _range(recluster)
    recluster.add_argument("--out", default=None, help="output root (COPYDESK_OUT)")
    recluster.set_defaults(handler=_cmd_recluster)

    reextract = sub.add_parser("reextract", help="extract every archived page again and rebuild articles/")
    reextract.add_argument("--out", default=None, help="output root (COPYDESK_OUT)")
    reextract.add_argument("--workers", type=int, default=None, help="extraction processes")
    reextract.set_defaults(handler=_cmd_reextract)


def _range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", required=True, type=_day, help="first day, YYYY-MM-DD (UTC)")
    parser.add_argument("--end", required=True, type=_day, help="last day, YYYY-MM-DD (UTC), included")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from exc


def _check_range(args: argparse.Namespace) -> None:
    from flows.cli import BadSettings

    if args.end < args.start:
        raise BadSettings(f"--end {args.end} is before --start {args.start}")


def _cmd_backfill(args: argparse.Namespace) -> int:
    from flows.prefect_env import configure
    from ingest.sources import parse_source

    for spec in args.sources:
        parse_source(spec)
    _check_range(args)
    check_settings(out=args.out, batch_size=args.batch_size, sources_file=args.sources_file)
    sources_file = check_sources_file(args.sources_file, required=not args.sources)
    configure(args.out)
    from flows.backfill import backfill

    summary = backfill(
        list(args.sources),
        args.start,
        args.end,
        args.out,
        redo=args.redo,
        batch_size=args.batch_size,
        sources_file=sources_file,
    )
    extra = [("days done", len(summary.days_done)), ("days skipped (done before)", len(summary.days_skipped))]
    return print_summary(summary, title=f"Copydesk backfill {args.start}..{args.end}", extra=extra)


def _cmd_serve(args: argparse.Namespace) -> int:
    from flows.prefect_env import configure
    from flows.settings import Settings
    from ingest.sources import parse_source

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
    for spec in settings.sources:
        parse_source(spec)
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


def _cmd_recluster(args: argparse.Namespace) -> int:
    from flows.prefect_env import configure

    _check_range(args)
    check_settings(out=args.out)
    configure(args.out)
    from flows.recluster import dedup_range

    outcome = dedup_range(args.start, args.end, args.out)
    if outcome.busy:
        print(f"copydesk: busy: {' '.join(outcome.busy.split())}", file=sys.stderr)
        return EXIT_BUSY
    print_table(
        f"Copydesk recluster {args.start}..{args.end}",
        [
            ("articles in the range", outcome.articles_in_range),
            ("articles regrouped (with their clusters)", outcome.articles_regrouped),
            ("clusters before", outcome.clusters_before),
            ("clusters after", outcome.clusters_after),
            ("articles that changed cluster", outcome.articles_moved),
            ("seconds", outcome.seconds),
        ],
    )
    return 0


def _cmd_reextract(args: argparse.Namespace) -> int:
    from flows.prefect_env import configure

    check_settings(out=args.out)
    configure(args.out)
    from flows.reextract import reextract

    outcome = reextract(args.out, args.workers)
    if outcome.busy:
        print(f"copydesk: busy: {' '.join(outcome.busy.split())}", file=sys.stderr)
        return EXIT_BUSY
    rows: list[tuple[str, Any]] = [("raw pages read", outcome.pages_read), ("articles", outcome.articles)]
    rows += [(f"errors: {k}", n) for k, n in outcome.errors_by_kind.items()]
    print_table("Copydesk reextract", rows)
    return 0
