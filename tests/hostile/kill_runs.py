"""The kill harness: run a command in a child that is SIGKILLed at a chosen write, rerun it, and
compare the tables and the index with those of a clean run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb

#: Columns that may differ between two runs that made the same tables: the run that wrote a row,
#: the output root's own path, and the time an error row was made.
VOLATILE = {
    "articles": ("raw_uri",),
    "clusters": ("run_id",),
    "links": ("run_id",),
    "errors": ("run_id", "at"),
}
REPO = Path(__file__).resolve().parents[2]


def child_env(prefect_api_url: str, home: Path) -> dict[str, str]:
    """A child's environment: the test API, its own PREFECT_HOME, a short lease (a killed child's
    lease frees the store a second later)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPYDESK_")}
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "PREFECT_API_URL": prefect_api_url,
            "PREFECT_HOME": str(home),
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "COPYDESK_LEASE_TTL_S": "1",
            "COPYDESK_LEASE_WAIT_S": "30",
            "PYTHONPATH": str(REPO),
        }
    )
    return env


class Children:
    """A `kill_child` process that forks one child per run (see its docstring)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.hostile.kill_child"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=REPO,
            text=True,
        )

    def run(self, at: int, out: Path, args: list[str]) -> tuple[int, int | None]:
        """Run the command, killed at write `at` (0: never); its exit code (negative for a signal)
        and, when it was not killed, how many writes it made."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(" ".join([str(at), str(out), *args]) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().split()
        assert answer, "the kill harness died"
        return int(answer[0]), (int(answer[1]) if answer[1] != "-" else None)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.log.close()


def kill_points(total: int, n: int, *, seed: int) -> list[int]:
    """`n` distinct writes in [1, total) to kill at, seeded (the last write is the lease's release
    or a final state write: killing there leaves nothing to redo)."""
    rng = random.Random(seed)
    return sorted(rng.sample(range(1, total), min(n, total - 1)))


def killed(code: int) -> bool:
    return code == -signal.SIGKILL


def rows(out: Path, name: str, drop: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    files = [p for p in (out / name).rglob("*.parquet") if not p.name.startswith(".tmp-")]
    if not files:
        return []
    rel = duckdb.sql(f"select * from read_parquet('{out}/{name}/**/*.parquet', hive_partitioning=true)")
    keep = [c for c in rel.columns if c not in drop]
    found = duckdb.sql(
        f"select {', '.join(keep)} from read_parquet('{out}/{name}/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    return sorted(found, key=repr)


def index_ids(out: Path) -> list[str]:
    """Every article id in the index's sketch files (a repeat would be a row indexed twice)."""
    found = duckdb.sql(
        f"select article_id from read_parquet('{out}/index/*/sketches/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    return sorted(i for (i,) in found)


def raw_paths(out: Path) -> list[str]:
    found = duckdb.sql(
        f"select raw_uri from read_parquet('{out}/articles/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    return sorted(str(p)[len(str(out)) :] for (p,) in found)


def assert_same_as_clean(out: Path, clean: Path, tables: tuple[str, ...] = tuple(VOLATILE)) -> dict[str, int]:
    """The `tables` and the index of `out` equal those of `clean`, with no row twice; returns row
    counts. Without "articles" (`copydesk dedup` writes none), the article and raw-page checks go."""
    counts = {}
    for name in tables:
        drop = VOLATILE[name]
        got = rows(out, name, drop)
        assert got == rows(clean, name, drop), name
        if name == "links":
            pairs = Counter(frozenset(r[:2]) for r in rows(out, name, ("relation", "jaccard")))
            assert max(pairs.values(), default=1) == 1, "a pair of articles linked twice"
        counts[name] = len(got)
    if "articles" in tables:
        twice = duckdb.sql(
            f"select article_id from read_parquet('{out}/articles/**/*.parquet', hive_partitioning=true) "
            "group by 1 having count(*) > 1"
        ).fetchall()
        assert not twice, f"articles twice: {twice}"
        assert raw_paths(out) == raw_paths(clean)
    assert index_ids(out) == index_ids(clean) and len(set(index_ids(out))) == len(index_ids(out))
    leftovers = [p for p in out.rglob(".tmp-*") if "raw" not in p.parts]
    assert not leftovers, leftovers
    return counts
