"""`copydesk demo`: the whole pipeline over a fictional newsroom served on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
from typing import Any

from common.errors import CopydeskError
from flows.cli._common import check_settings, print_summary

#: The demo site's fixed port: article ids come from URLs, so a second `copydesk demo` into the
#: same folder finds the articles it already has instead of adding them again under a new port.
DEMO_PORT = 8765


class DemoPortBusy(CopydeskError):
    """The demo site's port is taken."""


def register(sub: Any) -> None:
    """Add `demo` to the `copydesk` parser's subparsers."""
    demo = sub.add_parser("demo", help="run the pipeline over a fictional newsroom served on 127.0.0.1")
    demo.add_argument("--out", default=None, help="output folder (default: ./copydesk-data)")
    demo.add_argument(
        "--port",
        type=int,
        default=DEMO_PORT,
        help=f"port of the demo site (default {DEMO_PORT}); URLs, hence article ids, include it",
    )
    demo.set_defaults(handler=_cmd_demo)


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
    report_dir = os.path.join(out, "report")
    try:
        summary = pipeline(
            site.sources(), out, allow_loopback=True, per_host_delay_s=0.0, report_dir=report_dir
        )
    finally:
        site.stop()
    code = print_summary(summary, title="Copydesk demo")
    index = os.path.join(report_dir, "index.html")
    if code == 0 and os.path.exists(index):
        print(
            f"Report written to {os.path.abspath(index)} (open it in a browser; `copydesk report` redoes it)"
        )
    return code
