"""`make bench`: speed of Copydesk beside a baseline measured in the same run, as ratios.

    python -m flows.bench [--data ../shared/data] [--sizes 100000] [--out docs/benchmarks.md]

- fingerprinting (normalise, shingle, MinHash 128 permutations, anchors) of ~700-word articles,
  one process, against datasketch's `MinHash.update_batch` path on the same texts;
- `copydesk dedup` of N synthetic articles (real newswire paragraphs when ../shared/data/news is
  there, else the project's own vocabulary) with planted copies: wall time, peak RSS of the
  process, and the planted clusters recovered; beside it datasketch's `MinHashLSH` (threshold 0.8)
  inserting and querying the same signatures, which is only the index step of the common recipe.

The machine is shared and noisy: figures are the best of a few repeats where cheap, and read as
ratios against the baseline of the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np


def _texts(data: Path, n: int, words: int) -> list[str]:
    from dedup.synth import newswire_paragraphs, planted_corpus

    news = data / "news" / "reuters21578.jsonl.gz"
    paras = list(newswire_paragraphs(str(news))) if news.exists() else None
    corpus = planted_corpus(n, copy_rate=0.0, mean_words=words, seed=1, paragraphs=paras)
    return [d.text for d in corpus.docs]


def bench_fingerprint(data: Path, n: int = 2000, baseline_n: int = 300) -> dict[str, float]:
    from datasketch import MinHash

    from dedup.fingerprint import fingerprint

    texts = _texts(data, n, 700)
    fingerprint(texts[:20])  # warm caches (datasketch permutations, power tables)
    ours = min(_timed(lambda: fingerprint(texts)) for _ in range(3))

    def baseline() -> None:
        for text in texts[:baseline_n]:
            w = text.lower().split()
            m = MinHash(num_perm=128)
            m.update_batch([" ".join(w[i : i + 3]).encode() for i in range(len(w) - 2)])

    base = min(_timed(baseline) for _ in range(2))
    mean_words = float(np.mean([len(t.split()) for t in texts]))
    return {"docs": n, "mean_words": mean_words, "ours_per_s": n / ours, "base_per_s": baseline_n / base}


def _timed(fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t0


def bench_dedup(data: Path, n_stories: int, workdir: Path) -> dict[str, float]:
    """Write a planted corpus of about `n_stories` x 1.4 articles, run `copydesk dedup` on it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dedup.synth import planted_corpus

    # The project's own vocabulary: the newswire set has too few paragraphs for unrelated stories at scale.
    corpus = planted_corpus(n_stories, copy_rate=0.2, mean_words=500, seed=7)
    path = workdir / f"corpus-{n_stories}.parquet"
    pq.write_table(
        pa.table(
            {
                "id": [d.id for d in corpus.docs],
                "text": [d.text for d in corpus.docs],
                "source": [d.source for d in corpus.docs],
                "published_at": [d.published_at for d in corpus.docs],
            }
        ),
        path,
        compression="zstd",
    )
    out = workdir / f"out-{n_stories}"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows", "dedup", str(path), "--out", str(out)], stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"copydesk dedup failed with status {status}")
    quality = _planted_scores(out, corpus.cluster)
    lsh = _lsh_baseline(corpus)
    return {
        "articles": len(corpus.docs),
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        **quality,
        "lsh_s": lsh,
    }


def _planted_scores(out: Path, truth: dict[str, str]) -> dict[str, float]:
    import duckdb

    glob = f"{out}/clusters/**/*.parquet"
    query = f"select article_id, cluster_id from read_parquet('{glob}', hive_partitioning=true)"
    pred = dict(duckdb.connect().execute(query).fetchall())
    pairs_t = _pairs({i: truth[i] for i in pred})
    pairs_p = _pairs(pred)
    tp = len(pairs_t & pairs_p)
    return {"precision": tp / max(len(pairs_p), 1), "recall": tp / max(len(pairs_t), 1)}


def _pairs(label: dict[str, str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for i, c in label.items():
        groups[c].append(i)
    out: set[tuple[str, str]] = set()
    for m in groups.values():
        m.sort()
        out.update((m[a], m[b]) for a in range(len(m)) for b in range(a + 1, len(m)))
    return out


def _lsh_baseline(corpus: object) -> float:
    """datasketch MinHashLSH(0.8) insert + query over the same signatures (index step only)."""
    from datasketch import LeanMinHash, MinHashLSH

    from dedup.fingerprint import fingerprint

    docs = corpus.docs  # type: ignore[attr-defined]
    fp = fingerprint([d.text for d in docs])
    sketches = [LeanMinHash(seed=1, hashvalues=fp.signatures[i], scheme="affine32") for i in range(len(docs))]
    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    with lsh.insertion_session() as session:
        for d, m in zip(docs, sketches, strict=True):
            session.insert(d.id, m)
    for m in sketches:
        lsh.query(m)
    return time.perf_counter() - t0


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def render(fp: dict[str, float], dedups: list[dict[str, float]]) -> str:
    lines = [
        "## Speed (`make bench`)",
        "",
        f"Measured on commit `{_commit()}`, {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. Baselines ran in the same run.",
        "",
        "| what | Copydesk | baseline | ratio |",
        "|---|---|---|---|",
        f"| fingerprint {fp['docs']:.0f} articles of ~{fp['mean_words']:.0f} words, 128 perms, 1 process "
        f"| {fp['ours_per_s']:,.0f} articles/s "
        f"| datasketch `update_batch`: {fp['base_per_s']:,.0f} articles/s "
        f"| {fp['ours_per_s'] / fp['base_per_s']:.1f}x |",
    ]
    for d in dedups:
        lines.append(
            f"| `copydesk dedup` of {d['articles']:,.0f} articles (read, fingerprint, match, cluster, write) "
            f"| {d['wall_s']:.1f} s wall, {d['peak_rss_mb']:,.0f} MB peak RSS, "
            f"planted pairs P {d['precision']:.3f} / R {d['recall']:.3f} "
            f"| datasketch `MinHashLSH(0.8)` insert + query only: {d['lsh_s']:.1f} s "
            f"| {d['lsh_s'] / d['wall_s']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument(
        "--sizes", default="70000", help="stories per dedup run, comma-separated (~1.4 articles each)"
    )
    ap.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = ap.parse_args(argv)
    fp = bench_fingerprint(args.data)
    print(f"fingerprint: {fp}", flush=True)
    dedups = []
    with tempfile.TemporaryDirectory(prefix="copydesk-bench-") as tmp:
        for size in [int(s) for s in args.sizes.split(",") if s]:
            d = bench_dedup(args.data, size, Path(tmp))
            print(f"dedup: {d}", flush=True)
            dedups.append(d)
    table = render(fp, dedups)
    print(table)
    _replace_section(args.out, "## Speed (`make bench`)", table)
    return 0


def _replace_section(path: Path, heading: str, body: str) -> None:
    """Replace the section under `heading` in `path` (to the next `## `), or append it."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    start = text.find(heading)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + body + (text[end + 1 :] if end >= 0 else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
