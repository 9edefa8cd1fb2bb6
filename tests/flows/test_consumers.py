"""Every query of docs/consumers.md, run as written against the tables of a real demo run.

The fenced ``python`` blocks are taken from the page in order: ``# setup: parameters`` sets DATA,
DAY and STORY_URL (then pointed at the demo run), ``# engine: E, question: setup`` prepares an
engine, and each ``# engine: E, question: Q`` block leaves its answer in ``result``. The three
engines must give the same rows, and the rows must say what the demo's manifest planted.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from report.figures import DELAY_BUCKETS
from tests.flows.flows_helpers import DemoRun

DOC = Path(__file__).resolve().parents[2] / "docs" / "consumers.md"
ENGINES = ("duckdb", "polars", "pyarrow")
QUESTIONS = ("unique stories of a day", "outlets that ran a story", "who copies whom", "added explainers")
#: The queries behind the report's charts, in DuckDB and Polars.
CHART_ENGINES = ("duckdb", "polars")
CHARTS = (
    "chart: per day",
    "chart: cluster sizes",
    "chart: time to copy",
    "chart: top originals",
    "chart: publisher matrix",
    "chart: publisher shares",
    "chart: errors",
)
DAY = date(2026, 3, 2)
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
_HEAD = re.compile(r"# engine: (\w+), question: (.+)")


def doc_blocks() -> list[tuple[str, str, str]]:
    """(engine, question, code) of every python block; the parameters block has engine ``setup``."""
    found = []
    for code in _BLOCK.findall(DOC.read_text(encoding="utf-8")):
        first = code.splitlines()[0].strip()
        if first == "# setup: parameters":
            found.append(("setup", "parameters", code))
            continue
        head = _HEAD.fullmatch(first)
        assert head, f"a python block of {DOC.name} starts with neither marker: {first!r}"
        found.append((head.group(1), head.group(2).strip(), code))
    return found


def as_rows(result: Any) -> list[tuple[Any, ...]]:
    """An engine's answer as a list of tuples: DuckDB's fetchall, a Polars frame, an Arrow table."""
    if isinstance(result, list):
        return [tuple(r) for r in result]
    if hasattr(result, "rows"):
        return [tuple(r) for r in result.rows()]
    return [tuple(r.values()) for r in result.to_pylist()]


def story_url(run: DemoRun) -> str:
    return next(p["url"] for p in run.expected["pages"] if p["id"] == "wire-port-strike")


@pytest.fixture(scope="module")
def answers(demo_run: DemoRun) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    blocks = doc_blocks()
    [(_, _, setup)] = [b for b in blocks if b[0] == "setup"]
    params: dict[str, Any] = {}
    exec(setup, params)  # the page's own parameters block must run too
    params.update(DATA=str(demo_run.out), DAY=DAY, STORY_URL=story_url(demo_run))
    out: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    spaces = {engine: dict(params) for engine in ENGINES}
    params["DATA"] = str(demo_run.out)
    for engine, question, code in blocks:
        if engine == "setup":
            continue
        space = spaces[engine]
        exec(code, space)
        if question != "setup":
            out[(engine, question)] = as_rows(space.pop("result"))
    return out


def test_each_engine_answers_each_question(answers: dict[tuple[str, str], Any]) -> None:
    expected = {(e, q) for e in ENGINES for q in QUESTIONS} | {(e, q) for e in CHART_ENGINES for q in CHARTS}
    assert set(answers) == expected


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_engines_agree(answers: dict[tuple[str, str], Any], question: str) -> None:
    duck = answers[("duckdb", question)]
    assert duck, f"no rows for {question!r}"
    assert answers[("polars", question)] == duck
    assert answers[("pyarrow", question)] == duck


def planted(run: DemoRun) -> list[dict[str, Any]]:
    return [p for p in run.expected["pages"] if p["relation"] is not None]


def test_unique_stories_of_a_day_are_the_clusters_published_that_day(
    answers: dict[tuple[str, str], Any], demo_run: DemoRun
) -> None:
    pages = [p for p in planted(demo_run) if utc_day(p["published"]) == DAY]
    original = {p["cluster"]: p["original_url"] for p in planted(demo_run)}
    rows = answers[("duckdb", "unique stories of a day")]
    assert sorted(url for _, _, _, url, _, _ in rows) == sorted({original[p["cluster"]] for p in pages})
    assert sum(n for *_, n, _ in rows) == len(pages)


def utc_day(published: str) -> date:
    return datetime.fromisoformat(published).astimezone(UTC).date()


def test_outlets_that_ran_a_story_are_its_cluster(
    answers: dict[tuple[str, str], Any], demo_run: DemoRun
) -> None:
    pages = planted(demo_run)
    rows = answers[("duckdb", "outlets that ran a story")]
    expected = {(p["url"], p["relation"]) for p in pages if p["cluster"] == "wire-port-strike"}
    assert {(url, relation) for _, url, _, relation, _ in rows} == expected
    assert len(rows) >= 4 and rows[0][3] == "original"  # the earliest published comes first


def test_who_copies_whom_counts_every_copy(answers: dict[tuple[str, str], Any], demo_run: DemoRun) -> None:
    pages = planted(demo_run)
    publisher = {p["url"]: p["publisher"] for p in pages}
    expected: dict[tuple[str, str, str], int] = {}
    for p in pages:
        if p["relation"] != "original":
            key = (publisher[p["original_url"]], p["publisher"], p["relation"])
            expected[key] = expected.get(key, 0) + 1
    rows = answers[("duckdb", "who copies whom")]
    assert {(o, c, r): n for o, c, r, n in rows} == expected


def test_added_explainers_say_what_was_added(answers: dict[tuple[str, str], Any], demo_run: DemoRun) -> None:
    [expanded] = [p for p in planted(demo_run) if p["relation"] == "expanded"]
    [(source, url, _, original_source, _, added)] = answers[("duckdb", "added explainers")]
    assert (url, source) == (expanded["url"], expanded["publisher"])
    assert original_source != source and len(added.split()) > 100
    [(original_text,)] = demo_run.sql(
        f"select text from {{articles}} where url = '{expanded['original_url']}'"
    )
    assert added.split("\n\n")[0] not in original_text


@pytest.fixture(scope="module")
def report_figures(demo_run: DemoRun) -> Any:
    """The numbers the report of the demo run shows."""
    from common.storage import resolve
    from report.figures import compute
    from report.tables import read_tables

    return compute(read_tables(resolve(str(demo_run.out))))


@pytest.mark.parametrize("question", CHARTS)
def test_the_chart_queries_agree_with_each_other(answers: dict[tuple[str, str], Any], question: str) -> None:
    duck = answers[("duckdb", question)]
    assert duck, f"no rows for {question!r}"
    assert [tuple(_plain(v) for v in row) for row in answers[("polars", question)]] == [
        tuple(_plain(v) for v in row) for row in duck
    ]


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) or hasattr(value, "to_list") else value


def test_the_chart_queries_give_what_the_report_draws(
    answers: dict[tuple[str, str], Any], report_figures: Any
) -> None:
    f = report_figures
    days = [(str(d), *counts) for d, *counts in answers[("duckdb", "chart: per day")]]
    keys = ("articles", "clusters", "exact", "near_duplicate", "expanded", "excerpt", "version")
    assert days == [(r["day"], *(r[k] for k in keys)) for r in f.per_day]
    assert answers[("duckdb", "chart: cluster sizes")] == f.sizes
    delays = {(rel, bucket): n for rel, bucket, n in answers[("duckdb", "chart: time to copy")]}
    drawn = {
        (rel, label): n
        for rel, counts in f.delays.items()
        for (label, _), n in zip(DELAY_BUCKETS, counts, strict=True)
        if n
    }
    assert delays == drawn and sum(delays.values()) == f.copies
    assert [(c, t, s, n) for c, t, s, n in answers[("duckdb", "chart: top originals")]] == [
        (r["cluster_id"], r["title"], r["source"], r["copies"]) for r in f.top_originals
    ]
    assert answers[("duckdb", "chart: publisher matrix")] == f.matrix
    assert answers[("duckdb", "chart: publisher shares")] == f.shares
    errors = answers[("duckdb", "chart: errors")]
    assert [(s, k, n) for s, k, n, _ in errors] == f.errors
    assert {(s, k): [u for u, _ in f.error_samples[(s, k)]] for s, k, _, _ in errors} == {
        (s, k): list(samples) for s, k, _, samples in errors
    }
