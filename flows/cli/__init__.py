"""The `copydesk` command.

    copydesk demo [--out DIR] [--port N]      the whole pipeline over a fictional newsroom on 127.0.0.1
    copydesk run [SOURCE...] [--sources-file F] [--out URI]    the pipeline over feeds, sitemaps,
                                              URL lists, WARCs, folders, and a sources file's publishers
    copydesk dedup INPUT --out DIR [--dask A] dedup an existing JSONL/Parquet table of texts (no Prefect)
    copydesk explain A B [--input PATH | --out DIR]    why two articles are, or are not, grouped
    copydesk backfill SOURCE... --start D --end D [--out URI]    past days, one at a time
    copydesk serve [SOURCE...] [--out URI] [--cron EXPR]         the deployments, on a schedule
    copydesk recluster --start D --end D [--out URI] [--dask A]  group a date range again
    copydesk reextract [--out URI]                               rebuild articles/ from the raw archive
    copydesk report [--out URI] [--start D --end D] [--to DIR]   the HTML report of the tables

One module per group of commands, each with a ``register(subparsers)`` function; shared helpers in
`flows.cli._common`. A new command is a new module and one line in `COMMAND_GROUPS`.

Prefect is imported only by the commands that run flows, after `flows.prefect_env.configure()`
has set its environment. A `CopydeskError` ends the command with a one-line message on stderr:
exit code 2 when the input is at fault (bad file, unknown source), 1 otherwise; 75 when another
run holds the output root's lease (try again later).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from common.errors import CopydeskError
from flows.cli import dedup, demo, explain, maintenance, report, run
from flows.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    BadSettings,
    is_bad_input,
    one_line,
)

__all__ = ["EXIT_BAD_INPUT", "EXIT_BUSY", "EXIT_FAILED", "BadSettings", "main"]

#: Commands that show their progress (flows.progress_display): a bar on a terminal, log lines otherwise.
LONG_COMMANDS = frozenset({"demo", "run", "dedup", "backfill", "reextract", "recluster"})
#: The command modules, in the order `copydesk --help` lists them.
COMMAND_GROUPS = (demo, run, dedup, explain, maintenance, report)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `copydesk` command line; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        if args.command in LONG_COMMANDS:
            from flows.progress_display import display

            with display():
                code: int = args.handler(args)
        else:
            code = args.handler(args)
        return code
    except CopydeskError as exc:
        print(f"copydesk: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT if is_bad_input(exc) else EXIT_FAILED
    except KeyboardInterrupt:
        print("copydesk: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copydesk",
        description="Newsroom ingestion and deduplication: feeds, sitemaps, archives to clustered Parquet.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser
