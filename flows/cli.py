"""The `copydesk` command.

    copydesk demo [--out DIR] [--port N]      the whole pipeline over a fictional newsroom on 127.0.0.1
    copydesk run [SOURCE...] [--sources-file F] [--out URI]    the pipeline over feeds, sitemaps,
                                              URL lists, WARCs, folders, and a sources file's publishers
    copydesk dedup INPUT --out DIR            dedup an existing JSONL/Parquet table of texts (no Prefect)
    copydesk backfill SOURCE... --start D --end D [--out URI]    past days, one at a time (flows.commands)
    copydesk serve [SOURCE...] [--out URI] [--cron EXPR]         the deployments, on a schedule
    copydesk recluster --start D --end D [--out URI]             group a date range again
    copydesk reextract [--out URI]                               rebuild articles/ from the raw archive

Prefect is imported only by the commands that run flows, after `flows.prefect_env.configure()`
has set its environment. A `CopydeskError` ends the command with a one-line message on stderr:
exit code 2 when the input is at fault (bad file, unknown source), 1 otherwise; 75 when another
run holds the output root's lease (try again later).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from common.errors import CopydeskError
from dedup.errors import InputError

if TYPE_CHECKING:
    from flows.pipeline import RunSummary

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
#: sysexits' EX_TEMPFAIL: another run holds the output root's lease.
EXIT_BUSY = 75
#: The demo site's fixed port: article ids come from URLs, so a second `copydesk demo` into the
#: same folder finds the articles it already has instead of adding them again under a new port.
DEMO_PORT = 8765


class DemoPortBusy(CopydeskError):
    """The demo site's port is taken."""


class BadSettings(CopydeskError):
    """A ``COPYDESK_*`` setting (or an option standing for one) has a value that is not allowed."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `copydesk` command line; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        code: int = args.handler(args)
        return code
    except CopydeskError as exc:
        print(f"copydesk: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT if _is_bad_input(exc) else EXIT_FAILED
    except KeyboardInterrupt:
        print("copydesk: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copydesk",
        description="Newsroom ingestion and deduplication: feeds, sitemaps, archives to clustered Parquet.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the pipeline over a fictional newsroom served on 127.0.0.1")
    demo.add_argument("--out", default=None, help="output folder (default: ./copydesk-data)")
    demo.add_argument(
        "--port",
        type=int,
        default=DEMO_PORT,
        help=f"port of the demo site (default {DEMO_PORT}); URLs, hence article ids, include it",
    )
    demo.set_defaults(handler=_cmd_demo)

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

    dedup = sub.add_parser(
        "dedup", help="deduplicate an existing JSONL/Parquet table with id and text columns"
    )
    dedup.add_argument(
        "input", metavar="INPUT", help="a .jsonl, .jsonl.gz or .parquet file, or a folder of them"
    )
    dedup.add_argument("--out", required=True, help="folder (or s3://bucket/prefix) for clusters/ and links/")
    dedup.set_defaults(handler=_cmd_dedup)
    from flows.commands import add_commands

    add_commands(sub)
    return parser


def _cmd_demo(args: argparse.Namespace) -> int:
    from flows.prefect_env import DEFAULT_DATA_DIR, configure

    out = args.out or DEFAULT_DATA_DIR
    check_settings(out=out)
    configure(out)
    from flows.demo import DemoNewsroom
    from flows.pipeline import pipeline

    try:
        site = DemoNewsroom(port=args.port).start()
    except OSError as exc:
        raise DemoPortBusy(
            f"cannot serve the demo site on 127.0.0.1:{args.port} ({exc}); try --port"
        ) from exc
    try:
        summary = pipeline(site.sources(), out, allow_loopback=True, per_host_delay_s=0.0)
    finally:
        site.stop()
    return print_summary(summary, title="Copydesk demo")


def _cmd_run(args: argparse.Namespace) -> int:
    from flows.prefect_env import configure
    from ingest.sources import parse_source

    for spec in args.sources:  # a typo is the user's to fix now, not an errors/ row after a run
        parse_source(spec)
    check_settings(out=args.out, batch_size=args.batch_size, sources_file=args.sources_file)
    sources_file = check_sources_file(args.sources_file, required=not args.sources)
    configure(args.out)
    from flows.pipeline import pipeline

    summary = pipeline(list(args.sources), args.out, batch_size=args.batch_size, sources_file=sources_file)
    return print_summary(summary, title="Copydesk run")


def _cmd_dedup(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from common.storage import resolve
    from dedup.offline import dedup_table

    _library_logging()
    started = time.monotonic()
    root = resolve(args.out)
    run_id = "dedup-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    done = dedup_table(args.input, root, run_id=run_id)
    result, links = done.result, done.links
    relations: dict[str, int] = {}
    for a in result.assignments:
        relations[a.relation] = relations.get(a.relation, 0) + 1
    rows: list[tuple[str, Any]] = [
        ("articles", done.articles),
        ("clusters", len({a.cluster_id for a in result.assignments})),
        *((f"  {rel}", n) for rel, n in sorted(relations.items())),
        ("links", links),
        ("seconds", f"{time.monotonic() - started:.1f}"),
    ]
    print_table("Copydesk dedup", rows)
    print(f"Tables written under {root.uri}")
    return 0


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
        print(f"copydesk: busy: {' '.join(summary.busy.split())}", file=sys.stderr)
        return EXIT_BUSY
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
    print(f"Tables written under {_where(summary.out)}")
    return 0


def _where(out: str) -> str:
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


_CLI_HANDLER = "copydesk-cli"


def _library_logging() -> None:
    """Show `dedup`'s progress logs on stderr (the Prefect commands route them through Prefect)."""
    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(console=Console(stderr=True), show_path=False, markup=False)
    handler.set_name(_CLI_HANDLER)
    for name in ("dedup", "flows"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        # A second command in the same process replaces the handler instead of adding one more,
        # which would print every line twice.
        for old in [h for h in logger.handlers if h.get_name() == _CLI_HANDLER]:
            logger.removeHandler(old)
        logger.addHandler(handler)


def _is_bad_input(exc: CopydeskError) -> bool:
    """Whether the user's input is at fault: a table that cannot be deduplicated, a source spec."""
    from flows.deployments import ServeError
    from ingest.errors import DiscoveryError

    return isinstance(exc, InputError | DiscoveryError | BadSettings | ServeError)


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
