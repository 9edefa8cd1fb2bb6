"""The commands that group texts: `dedup` a table without Prefect, `recluster` a range of days again.

copydesk dedup INPUT --out DIR [--dask ADDRESS]
copydesk recluster --start YYYY-MM-DD --end YYYY-MM-DD [--out URI] [--dask ADDRESS]
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

from flows.cli._common import (
    BadSettings,
    add_range,
    busy_exit,
    check_range,
    check_settings,
    dask_spec,
    library_logging,
    print_table,
)


def register(sub: Any) -> None:
    """Add `dedup` and `recluster` to the `copydesk` parser's subparsers."""
    dedup = sub.add_parser(
        "dedup", help="deduplicate an existing JSONL/Parquet table with id and text columns"
    )
    dedup.add_argument(
        "input", metavar="INPUT", help="a .jsonl, .jsonl.gz or .parquet file, or a folder of them"
    )
    dedup.add_argument("--out", required=True, help="folder (or s3://bucket/prefix) for clusters/ and links/")
    dedup.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="run the stages (fingerprint, match, verify) on a Dask cluster: a scheduler address, or "
        "local[:N] for a LocalCluster of N workers (default COPYDESK_DASK_ADDRESS; without either, in "
        "this process). Same result; work files go under --out, which every worker must reach.",
    )
    dedup.set_defaults(handler=_cmd_dedup)

    recluster = sub.add_parser("recluster", help="group the articles of a date range again, from scratch")
    add_range(recluster)
    recluster.add_argument("--out", default=None, help="output root (COPYDESK_OUT)")
    recluster.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="group them in stages on a Dask cluster: a scheduler address, or local[:N] for a LocalCluster "
        "of N workers (default COPYDESK_DASK_ADDRESS; without either, in this process). Same result; "
        "work files go under the output root, which every worker must reach.",
    )
    recluster.set_defaults(handler=_cmd_recluster)


def _dedup_on_dask(spec: str, args: argparse.Namespace, root: Any, run_id: str) -> Any:
    from flows.dask_dedup import dedup_on
    from flows.dask_runner import DaskSetupError

    try:
        return dedup_on(spec, args.input, root.uri, run_id=run_id)
    except DaskSetupError as exc:
        raise BadSettings(str(exc)) from exc


def _cmd_dedup(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from common.storage import resolve
    from dedup.offline import dedup_table
    from flows.dask_dedup import PipelineRoot, refuse_pipeline_root
    from flows.lease import LeaseBusy, hold, lease_times_from_env

    spec = dask_spec(args.dask)
    library_logging()
    logging.getLogger("flows.lease").setLevel(logging.WARNING)  # its waits and takeovers only
    started = time.monotonic()
    root = resolve(args.out)
    run_id = "dedup-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    ttl_s, wait_s = lease_times_from_env()
    try:
        with hold(args.out, holder=run_id, what=f"copydesk dedup {args.input}", ttl_s=ttl_s, wait_s=wait_s):
            try:
                refuse_pipeline_root(args.out)
            except PipelineRoot as exc:
                raise BadSettings(str(exc)) from exc
            if spec:
                done = _dedup_on_dask(spec, args, root, run_id)
            else:
                done = dedup_table(args.input, root, run_id=run_id)
    except LeaseBusy as exc:
        return busy_exit(str(exc))
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


def _cmd_recluster(args: argparse.Namespace) -> int:
    from flows.dask_runner import DaskSetupError
    from flows.prefect_env import configure

    check_range(args)
    check_settings(out=args.out)
    args.dask = dask_spec(args.dask)
    configure(args.out)
    from flows.recluster import dedup_range

    try:
        outcome = dedup_range(args.start, args.end, args.out, dask=args.dask)
    except DaskSetupError as exc:
        raise BadSettings(str(exc)) from exc
    if outcome.busy:
        return busy_exit(outcome.busy)
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
