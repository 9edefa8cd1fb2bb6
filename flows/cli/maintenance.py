"""The commands that rebuild tables from what the output root already holds: `reextract`.

copydesk reextract [--out URI] [--workers N]
"""

from __future__ import annotations

import argparse
from typing import Any

from flows.cli._common import busy_exit, check_settings, print_table


def register(sub: Any) -> None:
    """Add `reextract` to the `copydesk` parser's subparsers."""
    reextract = sub.add_parser("reextract", help="extract every archived page again and rebuild articles/")
    reextract.add_argument("--out", default=None, help="output root (COPYDESK_OUT)")
    reextract.add_argument("--workers", type=int, default=None, help="extraction processes")
    reextract.set_defaults(handler=_cmd_reextract)


def _cmd_reextract(args: argparse.Namespace) -> int:
    from flows.prefect_env import configure

    check_settings(out=args.out)
    configure(args.out)
    from flows.reextract import reextract

    outcome = reextract(args.out, args.workers)
    if outcome.busy:
        return busy_exit(outcome.busy)
    rows: list[tuple[str, Any]] = [("raw pages read", outcome.pages_read), ("articles", outcome.articles)]
    rows += [(f"errors: {k}", n) for k, n in outcome.errors_by_kind.items()]
    print_table("Copydesk reextract", rows)
    return 0
