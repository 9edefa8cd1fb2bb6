from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.errors import PermanentError
from dedup.errors import InputError
from dedup.inputs import iter_doc_batches, iter_text_batches, load_docs

ROWS = [
    {
        "id": "a1",
        "text": "The council approved the budget on Tuesday.",
        "title": "Budget approved",
        "url": "https://example.org/a1",
        "source": "example.org",
        "published_at": "2024-03-01T10:00:00+02:00",
        "fetched_at": "2024-03-01T09:30:00Z",
    },
    {"id": "a2", "text": "Rain is expected all weekend.", "published_at": None},
]


def write_jsonl(path: Path, rows: list[dict], *, gz: bool = False) -> Path:
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def check_rows(docs) -> None:
    assert [d.id for d in docs] == ["a1", "a2"]
    a1, a2 = docs
    assert a1.text == ROWS[0]["text"]
    assert (a1.title, a1.url, a1.source) == ("Budget approved", "https://example.org/a1", "example.org")
    assert a1.published_at == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert a1.published_at.utcoffset() == timedelta(0)
    assert a1.fetched_at == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    assert a2.title is None and a2.published_at is None and a2.fetched_at is None


def test_jsonl(tmp_path: Path) -> None:
    check_rows(load_docs(str(write_jsonl(tmp_path / "in.jsonl", ROWS))))


def test_jsonl_gz(tmp_path: Path) -> None:
    check_rows(load_docs(str(write_jsonl(tmp_path / "in.jsonl.gz", ROWS, gz=True))))


def test_parquet_with_timestamp_columns(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": ["a1", "a2"],
            "text": [ROWS[0]["text"], ROWS[1]["text"]],
            "title": ["Budget approved", None],
            "url": ["https://example.org/a1", None],
            "source": ["example.org", None],
            "published_at": pa.array(
                [datetime(2024, 3, 1, 10, tzinfo=timezone(timedelta(hours=2))), None],
                pa.timestamp("ms", tz="Europe/Berlin"),
            ),
            "fetched_at": pa.array([datetime(2024, 3, 1, 9, 30), None], pa.timestamp("us")),
            "ignored": [1, 2],
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    check_rows(load_docs(str(tmp_path / "in.parquet")))


def test_folder_of_parquet_with_hive_partitions(tmp_path: Path) -> None:
    for day, row in zip(("2024-03-01", "2024-03-02"), ROWS, strict=True):
        part = tmp_path / "articles" / f"date={day}"
        part.mkdir(parents=True)
        pq.write_table(pa.table({"article_id": [row["id"]], "text": [row["text"]]}), part / "x.parquet")
    (tmp_path / "articles" / ".tmp-partial.parquet").write_bytes(b"half a file")
    docs = load_docs(str(tmp_path / "articles"))
    assert sorted(d.id for d in docs) == ["a1", "a2"]


def test_integer_ids_and_epoch_times(tmp_path: Path) -> None:
    rows = [{"id": 7, "text": "seven", "published_at": 1_700_000_000}, {"id": 8, "text": "eight"}]
    docs = load_docs(str(write_jsonl(tmp_path / "in.jsonl", rows)))
    assert [d.id for d in docs] == ["7", "8"]
    assert docs[0].published_at == datetime.fromtimestamp(1_700_000_000, UTC)


def test_mixed_types_take_the_slow_path(tmp_path: Path) -> None:
    rows = [{"id": 1, "text": "one", "meta": {"a": 1}}, {"id": "two", "text": "two", "meta": 3}]
    docs = load_docs(str(write_jsonl(tmp_path / "in.jsonl", rows)))
    assert [d.id for d in docs] == ["1", "two"]


def error_of(path: Path | str) -> str:
    with pytest.raises(InputError) as info:
        load_docs(str(path))
    message = str(info.value)
    assert "\n" not in message
    assert isinstance(info.value, PermanentError)
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert "no such file" in error_of(tmp_path / "nope.jsonl")


def test_unreadable_gz(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl.gz").write_bytes(b"this is not gzip")
    assert "cannot read" in error_of(tmp_path / "in.jsonl.gz")


def test_unreadable_parquet(tmp_path: Path) -> None:
    (tmp_path / "in.parquet").write_bytes(b"PAR1 not really")
    assert "Parquet" in error_of(tmp_path / "in.parquet")


def test_unknown_format(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("id,text\n1,a\n")
    assert "unknown format" in error_of(tmp_path / "in.csv")


def test_folder_without_inputs(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert "no .jsonl" in error_of(tmp_path)


def test_missing_column(tmp_path: Path) -> None:
    message = error_of(write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "body": "x"}]))
    assert "'text'" in message and "missing" in message


def test_missing_id_column_parquet(tmp_path: Path) -> None:
    pq.write_table(pa.table({"text": ["a"]}), tmp_path / "in.parquet")
    assert "'id'" in error_of(tmp_path / "in.parquet")


@pytest.mark.parametrize("text", [None, "", "   \n"])
def test_empty_or_null_text_names_the_id(tmp_path: Path, text: str | None) -> None:
    rows = [{"id": "ok", "text": "fine"}, {"id": "bad-one", "text": text}]
    message = error_of(write_jsonl(tmp_path / "in.jsonl", rows))
    assert "'bad-one'" in message and "text" in message


def test_null_id(tmp_path: Path) -> None:
    rows = [{"id": "ok", "text": "fine"}, {"id": None, "text": "x"}]
    assert "row 2 has no id" in error_of(write_jsonl(tmp_path / "in.jsonl", rows))


def test_duplicate_ids_named(tmp_path: Path) -> None:
    rows = [{"id": "a", "text": "x"}, {"id": "dup", "text": "y"}, {"id": "dup", "text": "z"}]
    assert "duplicate id 'dup'" in error_of(write_jsonl(tmp_path / "in.jsonl", rows))


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "one.jsonl", [{"id": "same", "text": "x"}])
    write_jsonl(tmp_path / "two.jsonl", [{"id": "same", "text": "y"}])
    assert "'same'" in error_of(tmp_path)


def test_bad_json_line_number(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "text": "x"}\n\n{"id": "b", "text": "y"\n{"id": "c", "text": "z"}\n')
    assert "line 3" in error_of(path)


def test_json_line_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "text": "x"}\n[1, 2]\n')
    assert "line 2" in error_of(path)


def test_bad_time_named(tmp_path: Path) -> None:
    rows = [{"id": "a", "text": "x", "published_at": "last tuesday"}]
    message = error_of(write_jsonl(tmp_path / "in.jsonl", rows))
    assert "published_at" in message and "'a'" in message


def test_empty_input(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text("")
    assert "no rows" in error_of(tmp_path / "in.jsonl")


def test_source_priority_is_an_optional_integer_column(tmp_path: Path) -> None:
    with_it = tmp_path / "with.parquet"
    pq.write_table(
        pa.table(
            {"id": ["a", "b"], "text": ["one", "two"], "source_priority": pa.array([3, None], pa.int32())}
        ),
        with_it,
    )
    assert [d.source_priority for d in load_docs(str(with_it))] == [3, None]
    assert [d.source_priority for d in load_docs(str(write_jsonl(tmp_path / "r.jsonl", ROWS)))] == [
        None,
        None,
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "a", "text": "t", "source_priority": "high"}) + "\n")
    with pytest.raises(InputError, match="source_priority"):
        load_docs(str(bad))


def test_text_batches_read_row_groups_into_batches(tmp_path: Path) -> None:
    rows = [{"id": f"d{i}", "text": f"text number {i}", "source": "s"} for i in range(25)]
    path = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=4)
    batches = list(iter_text_batches(str(path), batch_rows=10))
    assert [len(docs) for docs, _ in batches] == [12, 12, 1]
    assert [d.id for docs, _ in batches for d in docs] == [r["id"] for r in rows]
    assert [t for _, texts in batches for t in texts.to_pylist()] == [r["text"] for r in rows]
    assert all(d.text == "" and d.source == "s" for docs, _ in batches for d in docs)
    assert [d.text for b in iter_doc_batches(str(path), batch_rows=10) for d in b] == [
        r["text"] for r in rows
    ]


def test_duplicate_ids_across_text_batches(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": "x", "text": "a b c"}] * 2), path, row_group_size=1)
    with pytest.raises(InputError, match="duplicate id 'x'"):
        list(iter_text_batches(str(path), batch_rows=1))


EXTREME = ["0001-01-01", "9999-12-31", "9999-12-31T23:00:00-05:00", "1799-12-31T23:59:59Z"]


@pytest.mark.parametrize("mixed", [False, True], ids=["pyarrow", "line-by-line"])
def test_extreme_dates_are_read_as_unknown(
    tmp_path: Path, mixed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [{"id": f"x{i}", "text": "Some text.", "published_at": t} for i, t in enumerate(EXTREME)]
    rows.append({"id": "ok", "text": "Some text.", "published_at": "2024-03-01T00:00:00Z"})
    if mixed:  # a number among the strings: pyarrow gives up, the line-by-line reader parses each
        rows.append({"id": "n", "text": "Some text.", "published_at": 1e15})
    docs = load_docs(str(write_jsonl(tmp_path / "in.jsonl", rows)))
    dates = {d.id: d.published_at for d in docs}
    assert dates["ok"] == datetime(2024, 3, 1, tzinfo=UTC)
    assert [dates[f"x{i}"] for i in range(len(EXTREME))] == [None] * len(EXTREME)
    assert dates.get("n") is None
    assert "taken as unknown" in caplog.text


def test_extreme_parquet_timestamps_are_read_as_unknown(tmp_path: Path) -> None:
    times = [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, tzinfo=UTC),
        datetime(2024, 1, 2, tzinfo=UTC),
    ]
    table = pa.table(
        {
            "id": ["a", "b", "c"],
            "text": ["t a", "t b", "t c"],
            "fetched_at": pa.array(times, pa.timestamp("us", "UTC")),
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    docs = load_docs(str(tmp_path / "in.parquet"))
    assert [d.fetched_at for d in docs] == [None, None, datetime(2024, 1, 2, tzinfo=UTC)]
