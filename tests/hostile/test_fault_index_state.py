"""The dedup index's state under faults: a damaged lookup segment is a clear error with a repair,
a segment write that dies leaves nothing under the final name, a batch redone after a crash
between clusters/ and the index adds no links twice, and undated articles read back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from common.storage import list_files, resolve
from dedup import lookup_format
from dedup.errors import IndexStateError
from dedup.index import DedupIndex, clear_cache
from dedup.records import Doc
from tests.corpora.planted import planted_corpus


def _segments(index: DedupIndex) -> list[str]:
    return list_files(index.lookup, suffix=lookup_format.SUFFIX)


def _indexed(tmp_path: Path, n: int = 40) -> tuple[DedupIndex, list[Doc], list[Doc]]:
    """An index holding the first half of a corpus, and the second half to add."""
    docs = planted_corpus(n, copy_rate=0.6, seed=3).docs
    index = DedupIndex(resolve(str(tmp_path)))
    index.update(docs[: len(docs) // 2], run_id="one")
    return index, docs, docs[len(docs) // 2 :]


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_segment_is_an_index_state_error_with_its_repair(tmp_path: Path, damage: str) -> None:
    index, docs, rest = _indexed(tmp_path)
    [seg] = _segments(index)
    data = Path(seg).read_bytes()
    if damage == "truncate":  # what a segment written in pieces under its final key left after Ctrl-C
        Path(seg).write_bytes(data[: len(data) * 2 // 3])
    else:  # one bit of the first section, which opening reads
        at = 16 + int.from_bytes(data[8:16], "little")
        Path(seg).write_bytes(data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :])
    clear_cache()
    with pytest.raises(IndexStateError) as err:
        index.update(rest, run_id="two")
    assert "build_lookups" in str(err.value) and seg in str(err.value)
    Path(seg).unlink()  # the repair the message gives
    clear_cache()
    index.update(rest, run_id="two")
    assert len(_cluster_rows(tmp_path)) == len(docs)


def test_a_segment_write_that_dies_leaves_nothing_under_its_name(tmp_path: Path) -> None:
    index, docs, rest = _indexed(tmp_path)
    before = _segments(index)

    class Dying:
        """pyarrow for `dedup.lookup`, but Ctrl-C comes half-way through a segment's sections."""

        calls = 0

        def __getattr__(self, name: str) -> object:
            return getattr(pa, name)

        def py_buffer(self, data: object) -> pa.Buffer:
            Dying.calls += 1
            if Dying.calls == 3:
                raise KeyboardInterrupt
            return pa.py_buffer(data)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lookup_format, "pa", Dying())
        with pytest.raises(KeyboardInterrupt):
            index.update(rest, run_id="two")
    assert Dying.calls == 3
    assert _segments(index) == before
    assert not [p for p in Path(index.lookup.path).iterdir() if p.name.startswith(".tmp-")]
    clear_cache()
    index.update(rest, run_id="two")  # the rerun finishes the batch
    assert len(_cluster_rows(tmp_path)) == len(docs)


def _cluster_rows(root: Path) -> list[tuple[str, str]]:
    glob = f"{root}/clusters/**/*.parquet"
    return duckdb.sql(
        f"select article_id, cluster_id from read_parquet('{glob}', hive_partitioning=true)"
    ).fetchall()


def _link_pairs(root: Path) -> list[tuple[str, str]]:
    glob = f"{root}/links/**/*.parquet"
    return duckdb.sql(
        f"select article_id, other_id from read_parquet('{glob}', hive_partitioning=true)"
    ).fetchall()


def test_a_batch_redone_after_a_crash_before_the_index_adds_no_link_twice(tmp_path: Path) -> None:
    docs = planted_corpus(60, copy_rate=1.0, seed=11).docs
    clean = tmp_path / "clean"
    DedupIndex(resolve(str(clean))).update(docs, run_id="clean")
    crashed = tmp_path / "crashed"
    index = DedupIndex(resolve(str(crashed)))
    first, rest = docs[:30], docs[30:]
    with pytest.MonkeyPatch.context() as mp:  # dies after clusters/ and links/, before its sketches

        def die(*args: object, **kwargs: object) -> None:
            raise KeyboardInterrupt

        mp.setattr("dedup.index.write_partitioned", die)
        with pytest.raises(KeyboardInterrupt):
            index.update(first, run_id="crashed")
    assert _link_pairs(crashed), "the crash came too early to test anything"
    clear_cache()
    DedupIndex(resolve(str(crashed))).update(first[:10] + rest + first[10:], run_id="catch-up")
    pairs = [frozenset(p) for p in _link_pairs(crashed)]
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == {frozenset(p) for p in _link_pairs(clean)}
    assert sorted(a for a, _ in _cluster_rows(crashed)) == sorted(d.id for d in docs)


def test_undated_articles_read_back_and_take_updates(tmp_path: Path) -> None:
    docs = [
        dataclasses.replace(d, published_at=None, fetched_at=None)
        for d in planted_corpus(30, copy_rate=0.6, seed=5).docs
    ]
    index = DedupIndex(resolve(str(tmp_path)))
    index.update(docs[:15], run_id="one")
    clear_cache()
    DedupIndex(resolve(str(tmp_path))).update(docs[15:], run_id="two")
    glob = f"{tmp_path}/clusters/**/*.parquet"
    rows = duckdb.sql(
        f"select article_id, date from read_parquet('{glob}', hive_partitioning=true)"
    ).fetchall()
    assert sorted(a for a, _ in rows) == sorted(d.id for d in docs)
    assert {str(d) for _, d in rows} == {"undated"}
    import pyarrow.dataset as pads

    assert pads.dataset(str(tmp_path / "clusters"), partitioning="hive").to_table().num_rows == len(docs)
