"""`make bench`, end to end: read, fingerprint, index, write, for the common recipe and for Copydesk.

    python -m benches.end_to_end [--sizes 70000] [--recipe-sample 100000] [--dask local:2] [--out FILE]

Every figure of the table is measured in the same run, each command in a child process whose wall
time and peak RSS come from the kernel (`wait4`):

- the common recipe (`recipe`, below): read the Parquet table, datasketch `MinHash.bulk` of each
  text's word 3-shingles (128 permutations, what `update_batch` does text by text), `MinHashLSH`
  at threshold 0.8, insert all and query each, union the matches into clusters, write
  `article_id, cluster_id` as Parquet. At sizes above `--recipe-sample` it runs on the first
  sample rows and its time is scaled linearly (said in the table); its RSS is that of the sample.
- `copydesk dedup` of the same table as Parquet, JSONL and JSONL.gz, in one process;
- `copydesk dedup --dask local:2` of the Parquet table (its stages run by two worker processes).

The corpus is `tests.corpora.planted`'s news (~500-word stories, 20% with 1-4 planted copies), about
1.4 articles per story. The 1M row is `--sizes 700000` (about 30 GB of disk, an hour on 2 cores):
run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benches.sections import commit, replace_section

HEADING = "## End to end (`make bench`)"


def write_corpus(n_stories: int, workdir: Path) -> tuple[Path, Path, Path, int]:
    """The planted corpus as Parquet (row groups of 20,000), JSONL and JSONL.gz; and its row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.corpora.planted import planted_corpus

    base = workdir / f"corpus-{n_stories}"
    paths = (base.with_suffix(".parquet"), base.with_suffix(".jsonl"), Path(f"{base}.jsonl.gz"))
    rows = 0
    writer = None
    with paths[1].open("w") as jl, gzip.open(paths[2], "wt", compresslevel=6) as gz:
        for k, at in enumerate(range(0, n_stories, 50_000)):
            part = planted_corpus(
                min(50_000, n_stories - at), copy_rate=0.2, mean_words=500, seed=7 + k, id_prefix=f"s{k:03d}-"
            )
            table = pa.table(
                {
                    "id": [d.id for d in part.docs],
                    "text": [d.text for d in part.docs],
                    "source": [d.source for d in part.docs],
                    "published_at": [d.published_at for d in part.docs],
                }
            )
            writer = writer or pq.ParquetWriter(paths[0], table.schema, compression="zstd")
            writer.write_table(table, row_group_size=20_000)
            for d in part.docs:
                line = {"id": d.id, "text": d.text, "source": d.source}
                line["published_at"] = d.published_at.isoformat() if d.published_at else None
                text = json.dumps(line) + "\n"
                jl.write(text)
                gz.write(text)
            rows += len(part.docs)
    if writer is not None:
        writer.close()
    return (*paths, rows)


def measured(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of a child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(argv)} failed with status {status}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def recipe(path: Path, out: Path, *, limit: int | None) -> int:
    """The common recipe on the first `limit` rows of a Parquet table (see the module doc)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasketch import MinHash, MinHashLSH

    ids: list[str] = []
    sketches: list[MinHash] = []
    for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000, columns=["id", "text"]):
        texts = batch.column("text").to_pylist()
        shingles = []
        for text in texts:
            w = text.lower().split()
            shingles.append([" ".join(w[i : i + 3]).encode() for i in range(max(1, len(w) - 2))])
        sketches.extend(MinHash.bulk(shingles, num_perm=128))
        ids.extend(batch.column("id").to_pylist())
        if limit is not None and len(ids) >= limit:
            ids, sketches = ids[:limit], sketches[:limit]
            break
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    with lsh.insertion_session() as session:
        for i, m in enumerate(sketches):
            session.insert(i, m)
    parent = np.arange(len(ids))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    for i, m in enumerate(sketches):
        for j in lsh.query(m):
            a, b = find(i), find(int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)
    roots = [ids[find(i)] for i in range(len(ids))]
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"article_id": ids, "cluster_id": roots}), out / "clusters.parquet")
    return len(ids)


@dataclass(slots=True)
class Row:
    """One size: the recipe's (wall scaled to all rows, RSS, rows it ran on), and (wall, RSS) of each
    Copydesk run by input format (and `dask`)."""

    articles: int
    recipe: tuple[float, float, int] = (0.0, 0.0, 0)
    runs: dict[str, tuple[float, float]] = field(default_factory=dict)
    sizes_mb: dict[str, float] = field(default_factory=dict)


def bench(n_stories: int, workdir: Path, *, sample: int, dask: str | None) -> Row:
    parquet, jsonl, jsonl_gz, rows = write_corpus(n_stories, workdir)
    me = [sys.executable, "-m", "benches.end_to_end"]
    row = Row(rows)
    taken = min(rows, sample)
    wall, rss = measured([*me, "recipe", str(parquet), str(workdir / "recipe"), "--limit", str(taken)])
    row.recipe = (wall * rows / taken, rss, taken)
    for name, path in (("parquet", parquet), ("jsonl", jsonl), ("jsonl.gz", jsonl_gz)):
        row.sizes_mb[name] = path.stat().st_size / 2**20
        out = workdir / f"out-{name}"
        row.runs[name] = measured([sys.executable, "-m", "flows", "dedup", str(path), "--out", str(out)])
    if dask:
        out = workdir / "out-dask"
        argv = [sys.executable, "-m", "flows", "dedup", str(parquet), "--out", str(out), "--dask", dask]
        row.runs["dask"] = measured(argv)
    return row


def render(rows: list[Row], dask: str | None) -> str:
    lines = [
        HEADING,
        "",
        f"Measured on commit `{commit()}`, {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; every figure of a row in the same "
        "run, on the same table (`python -m benches.end_to_end`, see its docstring).",
        "",
        "| articles | common recipe: datasketch `MinHash.bulk` + `MinHashLSH(0.8)`, read to write "
        "| `copydesk dedup` Parquet | JSONL | JSONL.gz "
        + (f"| `--dask {dask}` (Parquet) " if dask else "")
        + "| Copydesk vs recipe (Parquet) |",
        "|---|---|---|---|---|" + ("---|" if dask else "") + "---|",
    ]
    for r in rows:
        wall, rss, taken = r.recipe
        recipe_cell = f"{wall:.0f} s, {rss:,.0f} MB" + (
            f" (measured on the first {taken:,} articles, time scaled linearly, RSS not)"
            if taken < r.articles
            else ""
        )
        cells = [f"{r.articles:,}", recipe_cell]
        for name in ("parquet", "jsonl", "jsonl.gz", *(("dask",) if dask else ())):
            w, m = r.runs[name]
            size = f" ({r.sizes_mb[name]:,.0f} MB file)" if name in r.sizes_mb else ""
            cells.append(f"{w:.0f} s, {m:,.0f} MB{size}")
        cells.append(f"{wall / r.runs['parquet'][0]:.1f}x faster")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Peak RSS of `--dask` is the driver's own process (it holds the docs' metadata, the links, and "
        "for the dedup index's bootstrap every sketch; the workers hold a shard each).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd")
    rc = sub.add_parser("recipe", help="run the common recipe (a child of the bench)")
    rc.add_argument("path", type=Path)
    rc.add_argument("out", type=Path)
    rc.add_argument("--limit", type=int, default=None)
    ap.add_argument("--sizes", default="70000", help="stories per run, comma-separated (~1.4 articles each)")
    ap.add_argument("--recipe-sample", type=int, default=100_000, help="rows the recipe runs on, at most")
    ap.add_argument("--dask", default="local:2", help="cluster of the --dask row ('' for none)")
    ap.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = ap.parse_args(argv)
    if args.cmd == "recipe":
        recipe(args.path, args.out, limit=args.limit)
        return 0
    rows = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        with tempfile.TemporaryDirectory(prefix="copydesk-e2e-") as tmp:
            row = bench(size, Path(tmp), sample=args.recipe_sample, dask=args.dask or None)
        print(row, flush=True)
        rows.append(row)
    table = render(rows, args.dask or None)
    print(table)
    replace_section(args.out, HEADING, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
