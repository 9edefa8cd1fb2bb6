"""`copydesk explain A B [--input PATH | --out DIR]`: why two articles are, or are not, grouped.

The texts come from the input table (or the output root's articles/), the stored grouping from the
output root's clusters/ when one is given; the comparison itself is `dedup.explain`.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add `explain` to the `copydesk` parser's subparsers."""
    explain = sub.add_parser("explain", help="say why two articles are, or are not, grouped")
    explain.add_argument("a", metavar="A", help="an article id")
    explain.add_argument("b", metavar="B", help="another article id")
    explain.add_argument("--input", default=None, help="the JSONL/Parquet table the two come from")
    explain.add_argument(
        "--out", default=None, help="an output root: its articles/ (unless --input) and its clusters/"
    )
    explain.set_defaults(handler=_cmd_explain)


def _cmd_explain(args: argparse.Namespace) -> int:
    from common.storage import read_dataset, resolve
    from dedup.errors import InputError
    from dedup.explain import Grouping, explain, render
    from dedup.inputs import load_docs

    if not args.input and not args.out:
        raise InputError("give --input PATH (a table of texts) or --out DIR (an output root)")
    docs = load_docs(args.input or resolve(args.out).child("articles").uri)
    grouping = None
    if args.out:
        stored = read_dataset(resolve(args.out).child("clusters"))
        if stored is not None:
            grouping = {
                r["article_id"]: Grouping(r["cluster_id"], r["relation"], r.get("copy_of"))
                for r in stored.to_pylist()
                if r["article_id"] in (args.a, args.b)
            }
    print(render(explain(docs, args.a, args.b, grouping=grouping)), end="")
    return 0
