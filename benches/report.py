"""Benchmark of `copydesk report`: an output root of about 100,000 articles, reported whole.

    python -m benches.report [--articles 100000] [--out docs/benchmarks.md]

Builds the output root as a run would leave it: articles/ partitioned by day (the project's
synthetic news with planted copies, `tests.corpora.planted`), clusters/ and links/ written by `copydesk
dedup` of those articles, and a few thousand errors/ rows; then times `write_report` on it in a
fresh process and writes the time and the overview page's size into its section of the file.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HEADING = "## Report (`make bench`)"


def build_root(root: Path, articles: int) -> int:
    """Write articles/, clusters/, links/ and errors/ of about `articles` articles under `root`."""
    import pyarrow as pa

    from common.storage import resolve, write_partitioned
    from dedup.records import Doc
    from tests.corpora.planted import planted_corpus

    docs: list[Doc] = []
    k = 0
    while len(docs) < articles:  # slices of 40,000 stories, about 1.4 articles each
        docs += planted_corpus(
            40_000, copy_rate=0.2, mean_words=500, seed=11 + k, id_prefix=f"s{k:03d}-"
        ).docs
        k += 1
    docs = docs[:articles]
    when = [d.published_at or datetime(2026, 3, 1, tzinfo=UTC) for d in docs]  # synth dates every one
    loc = resolve(str(root))
    table = pa.table(
        {
            "article_id": [d.id for d in docs],
            "url": [f"https://pub{d.source}.example/{d.id}" for d in docs],
            "source": [d.source for d in docs],
            "title": [" ".join(d.text.split()[:9]).capitalize() for d in docs],
            "published_at": pa.array(when, pa.timestamp("us", tz="UTC")),
            "fetched_at": pa.array([w + timedelta(minutes=5) for w in when], pa.timestamp("us", tz="UTC")),
            "text": [d.text for d in docs],
            "date": [w.date().isoformat() for w in when],
        }
    )
    write_partitioned(table, loc.child("articles"), partition_col="date", file_stem="bench")
    errors = pa.table(
        {
            "url": [f"https://pub{i % 50}.example/missing/{i}" for i in range(3000)],
            "source": [f"pub{i % 50}" for i in range(3000)],
            "stage": [("fetch", "extract", "discover")[i % 3] for i in range(3000)],
            "kind": [("HttpStatusError", "NoArticle", "FetchTimeout", "NotHtml")[i % 4] for i in range(3000)],
            "message": ["synthetic error of the benchmark"] * 3000,
            "run_id": ["bench"] * 3000,
            "at": pa.array(when[:3000], pa.timestamp("us", tz="UTC")),
            "date": [w.date().isoformat() for w in when[:3000]],
        }
    )
    write_partitioned(errors, loc.child("errors"), partition_col="date", file_stem="bench")
    done = subprocess.run(
        [sys.executable, "-m", "flows", "dedup", str(root / "articles"), "--out", str(root)],
        stdout=subprocess.DEVNULL,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"copydesk dedup failed with status {done.returncode}")
    return len(docs)


_TIMED = """
import json, sys, time
t0 = time.perf_counter()
from report import write_report
w = write_report(sys.argv[1], sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - t0, "articles": w.articles,
                  "clusters_with_pages": w.clusters_with_pages, "overview_bytes": w.overview_bytes}))
"""


def time_report(root: Path, to: Path) -> dict[str, float]:
    """`write_report` in a fresh process (imports included): seconds, articles, page sizes."""
    done = subprocess.run(
        [sys.executable, "-c", _TIMED, str(root), str(to)], capture_output=True, text=True, check=True
    )
    found: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    found["load"] = os.getloadavg()[0]  # the machine is shared: say how busy it was
    found["cluster_data_bytes"] = sum(p.stat().st_size for p in (to / "data").glob("*.js"))
    found["largest_cluster_file_bytes"] = max(p.stat().st_size for p in (to / "data").glob("clusters-*.js"))
    return found


def render(found: dict[str, float]) -> str:
    from benches.sections import commit

    return "\n".join(
        [
            HEADING,
            "",
            f"`python -m benches.report` on commit {commit()}: `write_report` of an output root of "
            f"{int(found['articles']):,} articles (synthetic news with planted copies, clustered by "
            "`copydesk dedup`, plus 3,000 errors), in a fresh process, imports included. "
            "Target (issue 14): ≤ 30 s, overview page < 5 MB.",
            "",
            "| articles | seconds | overview page | clusters with a page | their data (all files) "
            "| largest data file | load average (2 cores) |",
            "|---|---|---|---|---|---|---|",
            f"| {int(found['articles']):,} | {found['seconds']:.1f} "
            f"| {found['overview_bytes'] / 1024:.0f} KB "
            f"| {int(found['clusters_with_pages'])} | {found['cluster_data_bytes'] / 1024:.0f} KB "
            f"| {found['largest_cluster_file_bytes'] / 1024:.0f} KB | {found['load']:.1f} |",
            "",
            "plotly.js (4.6 MB) is one shared file, assets/plotly.min.js, loaded by the overview page "
            "and not counted in its size.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    from benches.sections import replace_section

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    ap.add_argument(
        "--root", type=Path, default=None, help="keep the output root here, and reuse it when it is there"
    )
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="copydesk-bench-report-") as tmp:
        root = args.root or Path(tmp) / "data"
        if not (root / "clusters").exists():
            t0 = time.perf_counter()
            n = build_root(root, args.articles)
            print(f"built an output root of {n} articles in {time.perf_counter() - t0:.0f} s", flush=True)
        found = time_report(root, Path(tmp) / "report")
    print(found)
    section = render(found)
    print(section)
    replace_section(args.out, HEADING, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
