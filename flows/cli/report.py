"""`copydesk report`: write the static HTML report of an output root (no Prefect).

    copydesk report [--out URI] [--start YYYY-MM-DD --end YYYY-MM-DD] [--to DIR] [--clusters N]

The report goes to `--to`, by default `<out>/report/` for a local output root and
`./copydesk-report/` for an s3:// one; the command prints the path of its index.html.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from flows.cli._common import BadSettings, check_settings, day, print_table
from report.build import DEFAULT_CLUSTERS


def register(sub: Any) -> None:
    """Add `report` to the `copydesk` parser's subparsers."""
    report = sub.add_parser(
        "report", help="write a static HTML report of the tables: copies, publishers, errors"
    )
    report.add_argument(
        "--out", default=None, help="output root to read, a folder or s3://bucket/prefix (COPYDESK_OUT)"
    )
    report.add_argument("--start", type=day, default=None, help="first day, YYYY-MM-DD (default: the first)")
    report.add_argument(
        "--end", type=day, default=None, help="last day, YYYY-MM-DD, included (default: the last)"
    )
    report.add_argument(
        "--to", default=None, metavar="DIR", help="folder of the report (default: <out>/report)"
    )
    report.add_argument(
        "--clusters",
        type=int,
        default=DEFAULT_CLUSTERS,
        metavar="N",
        help=f"how many of the largest clusters get a page (default {DEFAULT_CLUSTERS})",
    )
    report.set_defaults(handler=_cmd_report)


def default_report_dir(out: str) -> str:
    """Where the report of `out` goes when no folder is given."""
    return "./copydesk-report" if "://" in out else os.path.join(out, "report")


def _cmd_report(args: argparse.Namespace) -> int:
    from flows.settings import Settings
    from report import write_report

    if args.start and args.end and args.end < args.start:
        raise BadSettings(f"--end {args.end} is before --start {args.start}")
    if args.clusters < 0:
        raise BadSettings(f"--clusters must be 0 or more, not {args.clusters}")
    check_settings(out=args.out)
    out = args.out or Settings(**{}).out
    written = write_report(
        out, args.to or default_report_dir(out), start=args.start, end=args.end, clusters=args.clusters
    )
    print_table(
        "Copydesk report",
        [
            ("articles", written.articles),
            ("clusters with a page", written.clusters_with_pages),
            ("overview page (KB)", f"{written.overview_bytes / 1024:.0f}"),
            ("seconds", f"{written.seconds:.1f}"),
        ],
    )
    print(f"Report written to {written.index}")
    return 0
