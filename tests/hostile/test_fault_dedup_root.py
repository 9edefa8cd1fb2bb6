"""`copydesk dedup` on an output root that is not empty: a fresh index, the lease, a clear refusal;
and "dedup a table of undated texts, then update" end to end."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import duckdb
import pytest

from common.storage import resolve
from dedup.index import DedupIndex, clear_cache
from flows.cli import EXIT_BAD_INPUT, EXIT_BUSY, main
from flows.lease import hold
from tests.corpora.planted import planted_corpus


def _table(path: Path, seed: int, n: int = 30, *, dated: bool = True) -> list[str]:
    docs = planted_corpus(n, copy_rate=0.6, seed=seed).docs
    rows = []
    for d in docs:
        row = {"id": f"s{seed}-{d.id}", "text": d.text}
        if dated and d.published_at is not None:
            row["published_at"] = d.published_at.isoformat()
        rows.append(row)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return [r["id"] for r in rows]


def _count(out: Path, table: str) -> list[tuple[str, int]]:
    glob = f"{out}/{table}/**/*.parquet"
    return duckdb.sql(
        f"select article_id, count(*) from read_parquet('{glob}', hive_partitioning=true) group by 1"
    ).fetchall()


def test_dedup_again_and_of_another_table_starts_a_fresh_index(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _table(tmp_path / "a.jsonl", seed=1)
    second = _table(tmp_path / "b.jsonl", seed=2)
    assert main(["dedup", str(tmp_path / "a.jsonl"), "--out", str(out)]) == 0
    assert main(["dedup", str(tmp_path / "a.jsonl"), "--out", str(out)]) == 0
    assert main(["dedup", str(tmp_path / "b.jsonl"), "--out", str(out)]) == 0
    clear_cache()
    index = DedupIndex(resolve(str(out)))
    assert index.known_ids() == set(second)  # nothing left of the first table
    sketches = _count(out / "index", "*")
    assert {n for _, n in sketches} == {1} and len(sketches) == len(second)
    extra = [dataclasses.replace(d, id=f"new-{d.id}") for d in planted_corpus(10, copy_rate=0.5, seed=3).docs]
    index.update(extra, run_id="update")
    rows = _count(out, "clusters")
    assert {n for _, n in rows} == {1}
    assert {a for a, _ in rows} == set(second) | {d.id for d in extra}
    assert not set(first) & {a for a, _ in rows}


def test_dedup_refuses_a_root_with_pipeline_articles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    _table(tmp_path / "a.jsonl", seed=1)
    (out / "articles" / "date=2026-01-01").mkdir(parents=True)
    (out / "articles" / "date=2026-01-01" / "batch-x.parquet").write_bytes(b"PAR1")
    assert main(["dedup", str(tmp_path / "a.jsonl"), "--out", str(out)]) == EXIT_BAD_INPUT
    [line] = [x for x in capsys.readouterr().err.splitlines() if x.startswith("copydesk: error:")]
    assert "holds articles/" in line and "another --out" in line
    assert not (out / "clusters").exists() and not (out / "index").exists()


def test_dedup_takes_the_lease(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    _table(tmp_path / "a.jsonl", seed=1)
    monkeypatch.setenv("COPYDESK_LEASE_WAIT_S", "0")
    with hold(str(out), holder="other-run", what="a scheduled run", ttl_s=60, wait_s=0):
        assert main(["dedup", str(tmp_path / "a.jsonl"), "--out", str(out)]) == EXIT_BUSY
        assert not (out / "clusters").exists()
    assert main(["dedup", str(tmp_path / "a.jsonl"), "--out", str(out)]) == 0
    assert not (out / "state" / "lease.json").exists()  # released


def test_dedup_of_undated_texts_then_update(tmp_path: Path) -> None:
    out = tmp_path / "out"
    ids = _table(tmp_path / "a.jsonl", seed=4, dated=False)
    assert main(["dedup", str(tmp_path / "a.jsonl"), "--out", str(out)]) == 0
    clear_cache()
    extra = [
        dataclasses.replace(d, id=f"new-{d.id}", published_at=None, fetched_at=None)
        for d in planted_corpus(10, copy_rate=0.5, seed=4).docs
    ]
    DedupIndex(resolve(str(out))).update(extra, run_id="update")
    clear_cache()
    DedupIndex(resolve(str(out))).update(extra[:3], run_id="again")
    rows = _count(out, "clusters")
    assert {n for _, n in rows} == {1}
    assert {a for a, _ in rows} == set(ids) | {d.id for d in extra}
    glob = f"{out}/links/**/*.parquet"
    dates = duckdb.sql(f"select distinct date from read_parquet('{glob}', hive_partitioning=true)").fetchall()
    assert dates == [("undated",)]
