"""The backfill flow and its guarantees: idempotent, resumable after SIGKILL, order-independent.

The corpus is `planted_warc`: news pages with planted copies one to four days after their
originals, over ten days of one WARC. Tables are read back with DuckDB and compared row by row,
leaving out the volatile columns (`VOLATILE`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from common.storage import resolve
from flows.backfill import day_window, days_between, is_done, mark_done, sources_key
from tests.flows.flows_helpers import (
    DAYS,
    FIRST_DAY,
    Backfilled,
    PlantedWarc,
    cluster_partition,
    cluster_roles,
    rows,
    table,
    write_warc,
)

LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)

#: Columns that may differ between two runs that made the same tables, and why:
#: `run_id` names the flow run that wrote a row; `raw_uri` holds the output root's own path (it is
#: compared relative to the root instead); `at` is the wall-clock time an error row was made.
#: `fetched_at` is not volatile here: pages read from a WARC are dated by their WARC-Date.
VOLATILE = {
    "articles": ("raw_uri",),
    "clusters": ("run_id",),
    "links": ("run_id",),
    "errors": ("run_id", "at"),
}


def same_tables(a: Path, b: Path) -> None:
    for name, drop in VOLATILE.items():
        assert rows(a, name, drop=drop) == rows(b, name, drop=drop), name
    assert raw_paths(a) == raw_paths(b)


def raw_paths(out: Path) -> list[str]:
    return sorted(p[len(str(out)) :] for (p,) in _sql(f"select raw_uri from {table(out, 'articles')}"))


def _sql(query: str) -> list[tuple]:
    import duckdb

    return duckdb.sql(query).fetchall()


# --- plain helpers ---------------------------------------------------------------------------


def test_days_run_in_order_both_ends_included() -> None:
    assert days_between(date(2026, 2, 27), date(2026, 3, 2)) == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
        date(2026, 3, 2),
    ]
    with pytest.raises(ValueError, match="before"):
        days_between(date(2026, 3, 2), date(2026, 3, 1))
    since, until = day_window(date(2026, 3, 1))
    assert (since, until) == (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))


def test_sources_key_ignores_order_and_repeats() -> None:
    assert sources_key(["warc:a", "dir:b"]) == sources_key(["dir:b", "warc:a", "warc:a"])
    assert sources_key(["warc:a"]) != sources_key(["warc:b"])


def test_marker_is_written_whole(tmp_path: Path) -> None:
    root = resolve(str(tmp_path / "data"))
    day = date(2026, 3, 1)
    assert not is_done(root, "k", day)
    uri = mark_done(root, "k", day, {"articles_new": 3})
    assert is_done(root, "k", day) and uri.endswith("state/backfill/k/2026-03-01.done")
    assert [p.name for p in Path(uri).parent.iterdir()] == ["2026-03-01.done"]  # no temporary file left


# --- the flow --------------------------------------------------------------------------------


def test_backfill_dates_articles_by_publication_and_groups_them_as_one_pass(
    clean_backfill: Backfilled, planted_warc: PlantedWarc
) -> None:
    from dedup.engine import deduplicate
    from dedup.inputs import load_docs

    out, summary = clean_backfill.out, clean_backfill.summary
    assert summary.days_done == [d.isoformat() for d in days_between(FIRST_DAY, LAST_DAY)]
    assert summary.articles_new == len(planted_warc.pages) and summary.errors_by_kind == {}
    dated = _sql(f"select url, cast(date as varchar), published_at from {table(out, 'articles')}")
    published = {p.url: p.published for p in planted_warc.pages}
    assert sorted((u, d) for u, d, _ in dated) == sorted(
        (u, t.date().isoformat()) for u, t in published.items()
    )
    assert all(p == published[u] for u, _, p in dated)
    key = sources_key([planted_warc.source])
    assert all(is_done(resolve(str(out)), key, d) for d in days_between(FIRST_DAY, LAST_DAY))
    # Built day by day through the index, the clusters are those of one pass over every article.
    docs = load_docs(str(out / "articles"))
    by_id = {d.id: d.url for d in docs}
    groups: dict[str, list[str]] = {}
    for a in deduplicate(docs).assignments:
        groups.setdefault(a.cluster_id, []).append(by_id[a.article_id] or "")
    assert cluster_partition(out) == sorted(sorted(g) for g in groups.values())
    assert any(len(g) > 2 for g in groups.values())  # the corpus does plant copies across days


def test_rerunning_a_backfill_or_a_day_adds_no_rows(
    clean_backfill: Backfilled, planted_warc: PlantedWarc, tmp_path: Path
) -> None:
    from flows.backfill import backfill
    from flows.pipeline import pipeline

    out = tmp_path / "data"
    shutil.copytree(clean_backfill.out, out)
    source = [planted_warc.source]
    again = backfill(source, FIRST_DAY, LAST_DAY, str(out))
    assert again.days_done == [] and len(again.days_skipped) == DAYS
    redo = backfill(source, FIRST_DAY + timedelta(days=3), FIRST_DAY + timedelta(days=5), str(out), redo=True)
    assert len(redo.days_done) == 3 and redo.articles_new == 0 and redo.pages_skipped > 0
    rerun = pipeline(source, str(out))  # a scheduled run over the same archive
    assert rerun.articles_new == 0 and rerun.errors_new == 0
    for name in VOLATILE:  # not even run_id changed: nothing was rewritten
        assert rows(out, name) == rows(clean_backfill.out, name), name


def test_backfill_killed_part_way_resumes_to_the_tables_of_an_uninterrupted_one(
    clean_backfill: Backfilled,
    planted_warc: PlantedWarc,
    subprocess_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.backfill import backfill

    out = tmp_path / "data"
    markers = out / "state" / "backfill" / sources_key([planted_warc.source])
    command = [sys.executable, "-m", "flows", "backfill", planted_warc.source]
    command += ["--start", str(FIRST_DAY), "--end", str(LAST_DAY), "--out", str(out)]
    log = tmp_path / "backfill.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, env=subprocess_env, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not (markers / f"{FIRST_DAY}.done").exists():
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "no day finished in 120 s"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = sorted(p.name for p in markers.glob("*.done"))
    assert 1 <= len(done_before) < DAYS, "the backfill ended before it could be killed"
    # Whatever the kill interrupted, every visible table file is whole.
    for path in out.rglob("*.parquet"):
        if not path.name.startswith(".tmp-"):
            pq.read_metadata(path)

    monkeypatch.setenv("COPYDESK_LEASE_WAIT_S", "30")  # the killed run's lease lives 3 s more
    resumed = backfill([planted_warc.source], FIRST_DAY, LAST_DAY, str(out))
    assert resumed.days_skipped == [name.removesuffix(".done") for name in done_before]
    assert len(resumed.days_done) == DAYS - len(done_before)
    assert not [p for p in out.rglob(".tmp-*") if "raw" not in p.parts]
    same_tables(out, clean_backfill.out)


def test_backfill_after_scheduled_runs_gives_the_clusters_of_a_clean_backfill(
    clean_backfill: Backfilled, planted_warc: PlantedWarc, tmp_path: Path
) -> None:
    """Scheduled runs took days 5-10 (a WARC a day), then days 1-10 are backfilled."""
    from flows.backfill import backfill
    from flows.pipeline import pipeline

    out = tmp_path / "data"
    for n in range(4, DAYS):
        day = FIRST_DAY + timedelta(days=n)
        todays = write_warc(tmp_path / f"{day}.warc.gz", [p for p in planted_warc.pages if p.day == day])
        pipeline([f"warc:{todays}"], str(out))
    late = backfill([planted_warc.source], FIRST_DAY, LAST_DAY, str(out))
    assert late.articles_new == sum(1 for p in planted_warc.pages if p.day < FIRST_DAY + timedelta(days=4))

    assert cluster_partition(out) == cluster_partition(clean_backfill.out)
    assert cluster_roles(out) == cluster_roles(clean_backfill.out)  # same originals, same relations
    # Row by row, cluster ids aside (an id once given is kept, so it depends on the order of runs).
    drop = ("run_id", "cluster_id")
    assert rows(out, "clusters", drop=drop) == rows(clean_backfill.out, "clusters", drop=drop)
    assert rows(out, "articles", drop=("raw_uri",)) == rows(clean_backfill.out, "articles", drop=("raw_uri",))
    # links/ may hold a relation twice (a later batch records it again when it regroups the
    # cluster), and how often depends on the batches: the relations found are the same.
    assert set(rows(out, "links", drop=("run_id",))) == set(
        rows(clean_backfill.out, "links", drop=("run_id",))
    )


def test_backfill_from_feeds_and_sitemaps_takes_the_days_they_date(
    prefect_harness: None, tmp_path: Path
) -> None:
    """The demo newsroom's feeds and sitemaps date every page: two days of backfill take those days' pages."""
    from flows.backfill import backfill
    from flows.demo import DemoNewsroom

    days = (date(2026, 3, 2), date(2026, 3, 3))
    out = tmp_path / "data"
    with DemoNewsroom(port=0) as site:
        summary = backfill(site.sources(), *days, str(out), allow_loopback=True, per_host_delay_s=0.0)
        expected = {
            p["url"]
            for p in site.expected()["pages"]
            if p["error_stage"] is None
            and datetime.fromisoformat(p["published"]).astimezone(UTC).date() in days
        }
    assert summary.days_done == [d.isoformat() for d in days]
    got = _sql(f"select url, cast(date as varchar) from {table(out, 'articles')}")
    assert {url for url, _ in got} == expected
    assert {day for _, day in got} == {d.isoformat() for d in days}
