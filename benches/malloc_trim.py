"""What Dask's nanny's ``MALLOC_TRIM_THRESHOLD_=65536`` does to fingerprinting in a worker.

    python -m benches.malloc_trim [--input FILE] [--copies 4] [--rounds 2]

Each round starts a LocalCluster of one single-threaded worker twice, alternating: spawned as
`flows.dask_runner` spawns them (the variable dropped from the nanny's pre-spawn environment) and
with Dask's default (the nanny sets it). The worker reads the texts and fingerprints them five
times; the best and the median of the five are printed with the variable the worker saw.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

DEFAULT_INPUT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "syndication-dev"


def fingerprint_in_worker(path: str, copies: int) -> tuple[str | None, int, float, float]:
    """(the worker's MALLOC_TRIM_THRESHOLD_, texts, best seconds, median seconds)."""
    from dedup.fingerprint import fingerprint
    from dedup.inputs import load_docs
    from dedup.params import MinHashParams

    texts = [d.text for d in load_docs(path)] * copies
    params = MinHashParams()
    fingerprint(texts[:2000], params)  # warm: imports, tables
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        fingerprint(texts, params)
        runs.append(time.perf_counter() - t0)
    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), len(texts), min(runs), sorted(runs)[2]


def main(argv: list[str] | None = None) -> int:
    import dask
    from distributed import Client, LocalCluster

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default=str(DEFAULT_INPUT / "articles.jsonl.gz"))
    ap.add_argument("--copies", type=int, default=4, help="the texts repeated this many times")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    path = os.path.abspath(args.input)
    for rnd in range(args.rounds):
        for dropped in (True, False):
            # A nanny with the default leaves the variable in this process, and workers inherit it.
            os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
            cfg = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None} if dropped else {}
            with (
                dask.config.set(cfg),
                LocalCluster(
                    n_workers=1,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    host="127.0.0.1",
                ) as cluster,
                Client(cluster) as client,
            ):
                env, n, best, median = client.submit(fingerprint_in_worker, path, args.copies).result()
            print(
                f"round {rnd}: MALLOC_TRIM_THRESHOLD_={env}: {n:,} texts, best {best:.2f} s "
                f"({n / best:,.0f}/s), median {median:.2f} s",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
