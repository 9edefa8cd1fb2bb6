"""Two runs on one output root: the lease keeps the dedup index consistent (local folder and S3)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.lease import Lease
from flows.lease_store import store_for
from tests.flows.flows_helpers import DAYS, FIRST_DAY, Backfilled, PlantedWarc, cluster_partition

LAST = FIRST_DAY + timedelta(days=DAYS - 1)


def test_a_run_that_finds_the_store_busy_says_so_in_one_line_and_writes_nothing(
    prefect_harness: None,
    planted_warc: PlantedWarc,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from flows.cli import EXIT_BUSY, main
    from flows.pipeline import pipeline

    out = tmp_path / "data"
    other = Lease(store_for(str(out)), holder="run-1", what="pipeline feed:https://a.example/rss", ttl_s=60)
    other.acquire(wait_s=0)
    monkeypatch.setenv("COPYDESK_LEASE_WAIT_S", "0.5")
    summary = pipeline([planted_warc.source], str(out))
    assert summary.busy is not None and "\n" not in summary.busy
    assert "is busy" in summary.busy and "'pipeline feed:https://a.example/rss' (run run-1" in summary.busy
    assert summary.articles_new == 0 and not (out / "articles").exists()

    capsys.readouterr()
    assert main(["run", planted_warc.source, "--out", str(out)]) == EXIT_BUSY
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("copydesk:")]
    assert len(said) == 1 and said[0].startswith("copydesk: busy: ") and "run-1" in said[0]
    other.release()


def test_a_waiting_run_starts_when_the_other_lets_go(
    prefect_harness: None, planted_warc: PlantedWarc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.pipeline import pipeline

    out = tmp_path / "data"
    other = Lease(store_for(str(out)), holder="run-1", what="a long run", ttl_s=60)
    other.acquire(wait_s=0)
    threading.Timer(1.0, other.release).start()
    monkeypatch.setenv("COPYDESK_LEASE_WAIT_S", "60")
    summary = pipeline([planted_warc.source], str(out))
    assert summary.busy is None and summary.articles_new == len(planted_warc.pages)


def _together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads at once; their results (or exceptions)."""
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results


def test_overlapping_backfill_and_scheduled_run_on_a_folder(
    prefect_harness: None,
    planted_warc: PlantedWarc,
    clean_backfill: Backfilled,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.backfill import backfill
    from flows.pipeline import pipeline

    out = str(tmp_path / "data")
    monkeypatch.setenv("COPYDESK_LEASE_WAIT_S", "120")
    source = [planted_warc.source]
    done = _together(lambda: backfill(source, FIRST_DAY, LAST, out), lambda: pipeline(source, out))
    assert [type(r).__name__ for r in done] == ["BackfillSummary", "RunSummary"], done
    assert done[0].busy is None and done[1].busy is None
    assert done[0].articles_new + done[1].articles_new == len(planted_warc.pages)
    assert cluster_partition(tmp_path / "data") == cluster_partition(clean_backfill.out)


def test_overlapping_runs_on_s3(
    prefect_harness: None,
    planted_warc: PlantedWarc,
    clean_backfill: Backfilled,
    s3_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pyarrow.dataset as pads
    import pyarrow.fs as pafs

    from flows.pipeline import pipeline

    monkeypatch.setenv("COPYDESK_LEASE_WAIT_S", "120")
    out, source = "s3://news/copydesk", [planted_warc.source]
    done = _together(lambda: pipeline(source, out), lambda: pipeline(source, out))
    assert all(getattr(r, "busy", "failed") is None for r in done), done
    assert sorted(r.articles_new for r in done) == [0, len(planted_warc.pages)]

    fs = pafs.S3FileSystem(endpoint_override=s3_endpoint.removeprefix("http://"), scheme="http")

    def read(name: str, columns: list[str]) -> list[tuple[Any, ...]]:
        found = pads.dataset(f"news/copydesk/{name}", filesystem=fs, partitioning="hive").to_table(
            columns=columns
        )
        return list(zip(*(found[c].to_pylist() for c in columns), strict=True))

    urls = dict(read("articles", ["article_id", "url"]))
    clusters = read("clusters", ["article_id", "cluster_id"])
    assert sorted(a for a, _ in clusters) == sorted(urls)  # one row per article
    groups: dict[str, list[str]] = {}
    for article, cluster in clusters:
        groups.setdefault(cluster, []).append(urls[article])
    assert sorted(sorted(g) for g in groups.values()) == cluster_partition(clean_backfill.out)
