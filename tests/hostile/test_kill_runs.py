"""SIGKILL a backfill, a pipeline run and a `copydesk dedup` at 10 seeded random writes each; every
killed run, run again, ends with the tables and the index of a clean run (rows, clusters, links,
index), no row twice and no temporary file left.

A kill point is the Nth write or delete under the output root (tables, index, state, day
markers), counted by a check the child registers where the lease registers its own
(`common.storage.guard_writes`); N is drawn from the writes of a clean run. The corpus is a WARC
of planted copies over three days (`tests/flows/flows_helpers.py`), read on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from tests.flows.flows_helpers import FIRST_DAY, planted_pages, write_warc
from tests.hostile.kill_runs import Children, assert_same_as_clean, child_env, kill_points, killed

DAYS = 3
#: Kill points per suite: 10 (the figures in docs/benchmarks.md) with COPYDESK_TEST_KILLS=10;
#: fewer by default, so that `make test` stays within its 10 minutes on two cores.
KILLS = int(os.environ.get("COPYDESK_TEST_KILLS", "3"))
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
#: Where each suite's figures go, for docs/benchmarks.md ("Reliability").
FIGURES = Path(__file__).with_name("kill_figures.json")


@pytest.fixture(scope="module")
def warc_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    pages = planted_pages(5, days=DAYS)
    return f"warc:{write_warc(tmp_path_factory.mktemp('kill-warc') / 'crawl.warc.gz', pages)}"


def _args(suite: str, source: str, out: Path) -> list[str]:
    if suite == "backfill":
        return ["backfill", source, "--start", str(FIRST_DAY), "--end", str(LAST_DAY), "--out", str(out)]
    return ["run", source, "--out", str(out)]


def _rerun(suite: str, source: str, out: Path) -> None:
    """The run again, in this process (a flow run against the test API)."""
    from flows.backfill import backfill
    from flows.pipeline import pipeline

    if suite == "backfill":
        summary = backfill([source], FIRST_DAY, LAST_DAY, str(out))
    else:
        summary = pipeline([source], str(out))
    assert summary.busy is None


@pytest.mark.parametrize("suite", ["backfill", "pipeline"])
def test_killed_at_random_writes_then_rerun_ends_as_a_clean_run(
    suite: str,
    warc_source: str,
    prefect_api_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = child_env(prefect_api_url, tmp_path / "prefect-home")
    monkeypatch.setenv("COPYDESK_LEASE_WAIT_S", "30")  # a killed child's lease lives 1 s more
    # The reruns take the articles a kill left unindexed a few at a time (`DEDUP_CHUNK_ROWS`): the
    # chunks must end as the clean run's single pass did.
    monkeypatch.setattr("flows.tasks.DEDUP_CHUNK_ROWS", 7)
    children = Children(env, tmp_path / "children.log")
    clean = tmp_path / "clean"
    try:
        code, total = children.run(0, clean, _args(suite, warc_source, clean))
        assert code == 0 and total, (tmp_path / "children.log").read_text()[-3000:]
        points = kill_points(total, KILLS, seed=1103 if suite == "backfill" else 2207)
        survived: list[int] = []
        counts: dict[str, int] = {}
        for k, at in enumerate(points):
            out = tmp_path / f"killed-{k}"
            code, _ = children.run(at, out, _args(suite, warc_source, out))
            assert killed(code), f"write {at} of {total}: the run ended ({code}) before it"
            _rerun(suite, warc_source, out)
            counts = assert_same_as_clean(out, clean)
            survived.append(at)
    finally:
        children.close()
    assert len(survived) == min(KILLS, total - 1)
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures[suite] = {"writes_in_a_clean_run": total, "killed_at": survived, "rows": counts, "rows_lost": 0}
    FIGURES.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")


def test_a_dedup_killed_at_random_writes_then_rerun_ends_as_a_clean_run(
    prefect_api_url: str, tmp_path: Path
) -> None:
    # `copydesk dedup` of a table: killed at seeded writes (its index, clusters/, links/, the lease),
    # then run again to the end, it leaves what a clean run leaves, and no temporary file.
    from flows.cli import main as copydesk
    from tests.corpora.planted import planted_corpus

    table = tmp_path / "articles.jsonl"
    docs = planted_corpus(60, copy_rate=0.5, seed=17).docs
    table.write_text(
        "".join(
            json.dumps(
                {"id": d.id, "text": d.text, "source": d.source, "published_at": d.published_at.isoformat()}
            )
            + "\n"
            for d in docs
            if d.published_at is not None
        ),
        encoding="utf-8",
    )
    children = Children(child_env(prefect_api_url, tmp_path / "prefect-home"), tmp_path / "children.log")
    clean = tmp_path / "clean"
    try:
        code, total = children.run(0, clean, ["dedup", str(table), "--out", str(clean)])
        assert code == 0 and total, (tmp_path / "children.log").read_text()[-3000:]
        for k, at in enumerate(kill_points(total, KILLS, seed=3301)):
            out = tmp_path / f"killed-{k}"
            code, _ = children.run(at, out, ["dedup", str(table), "--out", str(out)])
            assert killed(code), f"write {at} of {total}: the run ended ({code}) before it"
            assert copydesk(["dedup", str(table), "--out", str(out)]) == 0
            assert_same_as_clean(out, clean, tables=("clusters", "links"))
    finally:
        children.close()
