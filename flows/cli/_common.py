"""What every `copydesk` command shares: exit codes, settings checks, the summary printer, the busy exit.

A command module imports from here and never from another command module or from `flows.cli`, so the
package has no import cycle: `flows.cli` (the parser) -> the command modules -> this module.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from common.errors import CopydeskError
from dedup.errors import InputError

if TYPE_CHECKING:
    from flows.pipeline import RunSummary

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
#: sysexits' EX_TEMPFAIL: another run holds the output root's lease.
EXIT_BUSY = 75
EXIT_INTERRUPTED = 130


class BadSettings(CopydeskError):
    """A ``COPYDESK_*`` setting (or an option standing for one) has a value that is not allowed."""


def busy_exit(reason: str) -> int:
    """Say on stderr that another run holds the output root's lease; returns `EXIT_BUSY`."""
    print(f"copydesk: busy: {' '.join(reason.split())}", file=sys.stderr)
    return EXIT_BUSY


def add_range(parser: argparse.ArgumentParser) -> None:
    """The ``--start``/``--end`` pair of the commands that work on a range of days."""
    parser.add_argument("--start", required=True, type=day, help="first day, YYYY-MM-DD (UTC)")
    parser.add_argument("--end", required=True, type=day, help="last day, YYYY-MM-DD (UTC), included")


def day(text: str) -> date:
    """A ``YYYY-MM-DD`` argument as a date (argparse's `type`)."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from exc


def check_range(args: argparse.Namespace) -> None:
    if args.end < args.start:
        raise BadSettings(f"--end {args.end} is before --start {args.start}")


def dask_spec(value: str | None) -> str | None:
    """The ``--dask`` value, else ``COPYDESK_DASK_ADDRESS`` (`flows.dask_runner.spec_from`), checked;
    None: run in this process.

    Raises:
        BadSettings: a value that names no cluster (``local:0``, an empty one).
    """
    from flows.dask_runner import DaskSetupError, parse_spec, spec_from

    spec = spec_from(value)
    try:
        if spec:
            parse_spec(spec)
    except DaskSetupError as exc:
        raise BadSettings(str(exc)) from exc
    return spec


def add_sources_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sources-file",
        default=None,
        metavar="TOML",
        help="publishers to read: feeds, sitemaps, priority, fetch overrides (COPYDESK_SOURCES_FILE)",
    )


def check_sources_file(path: str | None, *, required: bool) -> str | None:
    """The sources file to read (`path`, else ``COPYDESK_SOURCES_FILE``) as an absolute path, checked now.

    Raises:
        ingest.errors.DiscoveryError: the file cannot be read or is wrong (one line naming the key).
        BadSettings: `required` (no SOURCE given) and there is no sources file.
    """
    import os

    from flows.settings import Settings
    from ingest.config import load_sources

    path = path or Settings(**{}).sources_file
    if not path:
        if required:
            raise BadSettings(
                "nothing to read: give SOURCE arguments or --sources-file (COPYDESK_SOURCES_FILE)"
            )
        return None
    if "://" not in path:
        path = os.path.abspath(path)
    load_sources(path)
    return path


def check_sources(specs: Sequence[str]) -> None:
    """Parse every SOURCE now: a typo is the user's to fix now, not an errors/ row after a run."""
    from ingest.sources import parse_source

    for spec in specs:
        parse_source(spec)


def check_settings(**overrides: Any) -> None:
    """Fail now, in one line, on a bad ``COPYDESK_*`` value rather than inside the flow run."""
    from pydantic import ValidationError

    from flows.settings import Settings

    try:
        Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise BadSettings(f"bad settings: {problems}") from exc


def print_summary(summary: RunSummary, *, title: str, extra: Sequence[tuple[str, Any]] = ()) -> int:
    """Print a run's summary table; returns the exit code (`EXIT_BUSY` when it could not run)."""
    if summary.busy:
        return busy_exit(summary.busy)
    rows: list[tuple[str, Any]] = [
        ("sources", summary.sources),
        *extra,
        ("pages fetched or read", summary.pages_fetched),
        ("feeds and sitemaps unchanged", summary.documents_unchanged),
        ("pages skipped (already ingested)", summary.pages_skipped),
        ("new articles", summary.articles_new),
        ("articles in total", summary.articles_total),
        ("clusters", summary.clusters),
        ("  new this run", summary.clusters_new),
        *((f"  copies: {rel}", n) for rel, n in sorted(summary.copies_by_relation.items())),
        ("links", summary.links),
        ("errors", sum(summary.errors_by_kind.values())),
        *((f"  {kind}", n) for kind, n in sorted(summary.errors_by_kind.items())),
        ("seconds", f"{summary.seconds:.1f}"),
    ]
    print_table(title, rows)
    print(f"Tables written under {where(summary.out)}")
    return EXIT_OK


def where(out: str) -> str:
    """`out` as the user can find it: absolute for a local folder."""
    from common.storage import StorageError, resolve

    try:
        return resolve(out).uri
    except StorageError:
        return out


def print_table(title: str, rows: Sequence[tuple[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in rows:
        table.add_row(key, str(value))
    Console().print(table)


_LOGGING_ROUTED: list[bool] = []


def library_logging() -> None:
    """Show `dedup`'s progress logs on stderr (the Prefect commands route them through Prefect).

    Once per process: a second command in the same process would otherwise add a second handler
    and print every line twice.
    """
    if _LOGGING_ROUTED:
        return
    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(console=Console(stderr=True), show_path=False, markup=False)
    for name in ("dedup", "flows"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
    _LOGGING_ROUTED.append(True)


def is_bad_input(exc: CopydeskError) -> bool:
    """Whether the user's input is at fault: a table that cannot be deduplicated, a source spec."""
    from flows.deployments import ServeError
    from ingest.errors import DiscoveryError

    return isinstance(exc, InputError | DiscoveryError | BadSettings | ServeError)


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
