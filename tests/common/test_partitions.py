"""Picking Hive partitions by value: pyarrow parses the paths, a filter on the column picks the files."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from common.storage import list_files, partition_files, resolve, write_partitioned


def test_partition_files_picks_exactly_the_named_days(tmp_path: Path) -> None:
    loc = resolve(str(tmp_path / "t"))
    days = ["2024-01-01", "2024-01-02", "2024-01-10", "2024-01-1"]
    table = pa.table({"id": [f"a{i}" for i in range(len(days))], "date": days})
    write_partitioned(table, loc, partition_col="date", file_stem="x")
    all_files = list_files(loc)

    picked = partition_files(loc, ["2024-01-1", "2024-01-02"], column="date")
    assert [Path(p).parent.name for p in picked] == ["date=2024-01-02", "date=2024-01-1"]
    # A prefix of another day's value does not pick it (2024-01-1 is not 2024-01-10).
    assert partition_files(loc, ["2024-01-1"]) == [p for p in all_files if "/date=2024-01-1/" in p]
    assert partition_files(loc, ["1999-01-01"]) == []
    assert partition_files(loc, []) == []
    assert partition_files(loc, ["2024-01-01"], files=all_files[1:]) == []
