"""The report of a small output root written here: the cluster pages are paged, the numbers are
right, an empty or older root still gives a report, and a bad target is a clear error."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from common.storage import resolve, write_partitioned
from report import write_report
from report.build import ReportError
from report.clusters import PAGE_SIZE

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def write_root(root: Path, *, clusters: int, with_kept_fraction: bool = True) -> None:
    """`clusters` clusters of an original and its expanded copy, a lone article, a version link
    found by two runs, and two errors."""
    loc = resolve(str(root))
    arts, rows = [], []
    for k in range(clusters):
        o, c = f"o{k:03d}", f"c{k:03d}"
        text = f"Story number {k} begins here.\nIt goes on for a while."
        for aid, source, when, body in (
            (o, "wire", T0 + timedelta(hours=k % 30), text),
            (
                c,
                "herald",
                T0 + timedelta(hours=k % 30, minutes=10),
                text + "\nAn explainer added by the herald.",
            ),
        ):
            arts.append((aid, source, f"Title {aid}", f"https://x.example/{aid}", when, body))
            rows.append((aid, f"k{k:03d}", o, "original" if aid == o else "expanded", 2, when))
    arts.append(("alone", "gazette", "Alone", "https://x.example/alone", T0, "Nobody copied this."))
    rows.append(("alone", "kalone", "alone", "original", 1, T0))
    articles = pa.table(
        {
            "article_id": [a[0] for a in arts],
            "source": [a[1] for a in arts],
            "title": [a[2] for a in arts],
            "url": [a[3] for a in arts],
            "published_at": pa.array([a[4] for a in arts], pa.timestamp("us", tz="UTC")),
            "text": [a[5] for a in arts],
            "date": [a[4].date().isoformat() for a in arts],
        }
    )
    write_partitioned(articles, loc.child("articles"), partition_col="date", file_stem="t")
    columns = {
        "article_id": [r[0] for r in rows],
        "cluster_id": [r[1] for r in rows],
        "original_id": [r[2] for r in rows],
        "relation": [r[3] for r in rows],
        "jaccard": [0.5] * len(rows),
        "containment": [1.0] * len(rows),
        "cluster_size": pa.array([r[4] for r in rows], pa.int64()),
        "date": [r[5].date().isoformat() for r in rows],
    }
    if with_kept_fraction:
        columns["kept_fraction"] = pa.nulls(len(rows), pa.float64())
    write_partitioned(pa.table(columns), loc.child("clusters"), partition_col="date", file_stem="t")
    links = pa.table(
        {
            "article_id": ["c000", "c000"],
            "other_id": ["o001", "o001"],
            "relation": ["version", "version"],
            "run_id": ["r1", "r2"],
            "date": [T0.date().isoformat()] * 2,
        }
    )
    write_partitioned(links, loc.child("links"), partition_col="date", file_stem="t")
    errors = pa.table(
        {
            "url": ["https://x.example/gone", "https://x.example/pdf"],
            "source": ["wire", "wire"],
            "stage": ["fetch", "fetch"],
            "kind": ["HttpStatusError", "NotHtml"],
            "message": ["404 <Not Found>", "not html"],
            "at": pa.array([T0, T0], pa.timestamp("us", tz="UTC")),
            "date": [T0.date().isoformat()] * 2,
        }
    )
    write_partitioned(errors, loc.child("errors"), partition_col="date", file_stem="t")


def read_js(path: Path) -> list[object]:
    """The arguments of the one call a data file makes."""
    text = path.read_text(encoding="utf-8")
    found = re.fullmatch(r"(\w+)\((.*)\);\n", text, re.S)
    assert found
    return json.loads(f"[{found.group(2)}]")


def test_cluster_pages_are_paged_and_indexed(tmp_path: Path) -> None:
    write_root(tmp_path / "data", clusters=2 * PAGE_SIZE + 3)
    written = write_report(str(tmp_path / "data"), str(tmp_path / "r"), clusters=2 * PAGE_SIZE + 1)
    assert written.clusters_with_pages == 2 * PAGE_SIZE + 1
    [index] = read_js(tmp_path / "r" / "data" / "index.js")
    assert isinstance(index, list) and len(index) == 2 * PAGE_SIZE + 1
    pages = sorted((tmp_path / "r" / "data").glob("clusters-*.js"))
    assert [p.name for p in pages] == ["clusters-0001.js", "clusters-0002.js", "clusters-0003.js"]
    for cluster_id, size, title, source, page, members in index:
        number, clusters = read_js(tmp_path / "r" / "data" / f"clusters-{page:04d}.js")
        assert number == page
        [found] = [c for c in clusters if c["id"] == cluster_id]
        assert size == found["size"] == 2 and source == "wire" and title == found["original"]["title"]
        assert members == [found["original"]["id"], found["members"][0]["id"]]
        [member] = found["members"]
        assert member["relation"] == "expanded" and member["source"] == "herald"
        assert [op[0] for op in member["ops"]] == ["=", "+"]
        assert "explainer added by the herald" in member["ops"][1][1]
    # the lone article has no page: it is not a cluster of two
    assert all(row[0] != "kalone" for row in index)


def test_the_overview_counts_what_the_tables_hold(tmp_path: Path) -> None:
    write_root(tmp_path / "data", clusters=3)
    written = write_report(str(tmp_path / "data"), str(tmp_path / "r"))
    html = Path(written.index).read_text(encoding="utf-8")
    assert written.articles == 7
    for n, label in (
        (7, "articles"),
        (4, "clusters (stories)"),
        (3, "stories copied"),
        (3, "copies"),
        (2, "errors"),
    ):
        assert f"<b>{n:,}</b><span>{label}</span>" in html
    assert "HttpStatusError" in html and "https://x.example/gone" in html
    assert "404 &lt;Not Found&gt;" in html  # text from the tables is escaped


def test_a_version_found_twice_counts_once_per_day(tmp_path: Path) -> None:
    from report.figures import per_day
    from report.tables import read_tables

    write_root(tmp_path / "data", clusters=3)
    days = per_day(read_tables(resolve(str(tmp_path / "data"))))
    assert sum(d["version"] for d in days) == 1
    assert sum(d["expanded"] for d in days) == 3 and sum(d["articles"] for d in days) == 7


def test_an_empty_root_and_an_older_table_still_give_a_report(tmp_path: Path) -> None:
    empty = write_report(str(tmp_path / "nothing"), str(tmp_path / "r1"))
    assert empty.articles == 0 and empty.clusters_with_pages == 0
    assert "No input failed" in Path(empty.index).read_text(encoding="utf-8")
    write_root(tmp_path / "old", clusters=2, with_kept_fraction=False)
    older = write_report(str(tmp_path / "old"), str(tmp_path / "r2"))
    assert older.clusters_with_pages == 2


def test_the_report_goes_to_a_local_folder_only(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="local folder"):
        write_report(str(tmp_path), "s3://bucket/report")
    (tmp_path / "file").write_text("")
    with pytest.raises(ReportError, match="cannot write the report"):
        write_report(str(tmp_path / "nothing"), str(tmp_path / "file" / "r"))
