"""The report of a real demo run: written by `copydesk report`, then opened in headless Chromium
as a person would (charts drawn, no console error, the expanded copy's explainer marked as added)."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flows.cli import main
from report import ReportWritten, write_report
from tests.flows.cdp import Browser, ensure_chromium
from tests.flows.flows_helpers import DemoRun

CHARTS = "document.querySelectorAll('.plotly-graph-div')"
#: Something plotted inside a chart's SVG: a bar, a point, a line or a heatmap's image.
DRAWN = "'svg.main-svg .plot *, svg.main-svg .cartesianlayer path'"
#: Set to a folder (e.g. docs) to keep the screenshots there.
SCREENSHOTS = os.environ.get("COPYDESK_SCREENSHOTS")


@pytest.fixture(scope="module")
def demo_report(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> ReportWritten:
    return write_report(str(demo_run.out), str(tmp_path_factory.mktemp("report") / "report"))


@pytest.fixture(scope="module")
def chromium() -> str:
    path = ensure_chromium()
    if path is None:
        pytest.skip(
            "no chromium at /usr/bin/chromium, and it cannot be installed (not root, or apt-get failed)"
        )
    return path


@pytest.fixture(scope="module")
def expanded(demo_run: DemoRun) -> dict[str, Any]:
    """The demo's expanded copy (the seed case): its cluster and the text it added."""
    [(cluster_id, article_id, added)] = demo_run.sql(
        "select cluster_id, article_id, added_text from {clusters} where relation = 'expanded'"
    )
    return {"cluster_id": cluster_id, "article_id": article_id, "added": added}


def test_copydesk_report_writes_the_report_and_prints_where(
    demo_run: DemoRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    to = tmp_path / "r"
    assert main(["report", "--out", str(demo_run.out), "--to", str(to)]) == 0
    printed = capsys.readouterr().out
    assert f"Report written to {to / 'index.html'}" in printed
    for name in (
        "index.html",
        "clusters.html",
        "assets/plotly.min.js",
        "assets/clusters.js",
        "data/index.js",
    ):
        assert (to / name).stat().st_size > 0, name
    assert list((to / "data").glob("clusters-*.js"))


def test_a_date_range_reports_only_its_days(demo_run: DemoRun, tmp_path: Path) -> None:
    [(first_day, n)] = demo_run.sql(
        "select date::varchar, count(*) from {articles} group by all order by 1 limit 1"
    )
    day = date.fromisoformat(first_day)
    written = write_report(str(demo_run.out), str(tmp_path / "r"), start=day, end=day)
    assert written.articles == n
    assert f"{first_day} to {first_day}" in (tmp_path / "r" / "index.html").read_text()


def test_an_end_before_the_start_is_refused(demo_run: DemoRun, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "--out", str(demo_run.out), "--start", "2026-03-05", "--end", "2026-03-01"])
    assert code == 2
    assert "before --start" in capsys.readouterr().err


def test_the_overview_is_small_and_names_every_section(demo_report: ReportWritten) -> None:
    html = Path(demo_report.index).read_text(encoding="utf-8")
    assert demo_report.overview_bytes == len(html.encode()) < 5_000_000
    for anchor in (
        'id="overview"',
        'id="publishers"',
        'id="errors"',
        'id="top-originals"',
        'id="error-kinds"',
    ):
        assert anchor in html


def test_the_report_opens_in_chromium_with_every_chart_drawn(
    chromium: str, demo_report: ReportWritten, expanded: dict[str, Any], tmp_path: Path
) -> None:
    folder = Path(demo_report.index).parent
    with Browser(chromium) as browser:
        browser.open(folder.joinpath("index.html").as_uri())
        charts = browser.evaluate(f"{CHARTS}.length")
        assert charts >= 6  # per day, sizes, delays, matrix, shares, errors
        drawn = browser.wait_for(
            f"Array.from({CHARTS}).every(d => d.querySelector({DRAWN})) && {CHARTS}.length"
        )
        assert drawn == charts
        assert browser.evaluate("document.querySelectorAll('#top-originals tbody tr').length") >= 1
        _keep(browser.screenshot(tmp_path / "overview.png"), "report-overview.png")

        browser.open(folder.joinpath("clusters.html").as_uri() + "#" + expanded["cluster_id"])
        browser.wait_for(f"document.getElementById('cluster').dataset.shown === '{expanded['cluster_id']}'")
        member = f'article[data-id="{expanded["article_id"]}"]'
        added = browser.evaluate(
            f"Array.from(document.querySelectorAll('{member} ins.added')).map(e => e.textContent).join(' ')"
        )
        explainer = " ".join(expanded["added"].split())
        assert " ".join(explainer.split()[:12]) in " ".join(added.split())
        relation = browser.evaluate(f"document.querySelector('{member} .rel').textContent")
        assert relation == "expanded"
        _keep(browser.screenshot(tmp_path / "cluster.png"), "report-cluster.png")

        # The search box finds a cluster by a word of its title, and by an article id.
        browser.evaluate(
            "(() => { const s = document.getElementById('search'); s.value = 'zzzz-no-such-title';"
            " s.dispatchEvent(new Event('input')); })()"
        )
        assert browser.evaluate("document.querySelectorAll('#results li').length") == 0
        browser.evaluate(
            f"(() => {{ const s = document.getElementById('search'); s.value = '{expanded['article_id']}';"
            " s.dispatchEvent(new Event('input')); })()"
        )
        assert browser.evaluate("document.querySelector('#results li').dataset.id") == expanded["cluster_id"]
        assert browser.console_errors() == []


def _keep(shot: Path, name: str) -> None:
    assert shot.stat().st_size > 10_000  # a blank page is a few kilobytes of PNG
    if SCREENSHOTS:
        shutil.copyfile(shot, Path(SCREENSHOTS) / name)


def test_a_run_given_a_report_folder_writes_it_and_links_it_from_its_artifacts(
    demo_run: DemoRun, tmp_path: Path
) -> None:
    from flows.pipeline import pipeline
    from tests.flows.test_artifacts import artifacts_of

    out = tmp_path / "data"
    shutil.copytree(demo_run.out, out, ignore=shutil.ignore_patterns(".prefect", "report"))
    nothing_new = tmp_path / "pages"
    nothing_new.mkdir()
    summary = pipeline([f"dir:{nothing_new}"], str(out), report_dir=str(tmp_path / "r"))
    index = tmp_path / "r" / "index.html"
    assert f"{summary.articles_total:,}</b><span>articles" in index.read_text(encoding="utf-8")
    found = artifacts_of(summary.run_id)
    assert index.as_uri() in found["copydesk-pipeline-report"].data
    assert index.as_uri() in found["copydesk-pipeline-clusters"].data


def test_the_report_reads_an_s3_output_root(demo_run: DemoRun, s3_endpoint: str, tmp_path: Path) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    for table in ("articles", "clusters", "links", "errors"):
        for path in (demo_run.out / table).rglob("*.parquet"):
            s3.upload_file(str(path), "news", f"desk/{path.relative_to(demo_run.out)}")
    from_s3 = write_report("s3://news/desk", str(tmp_path / "s3"))
    local = write_report(str(demo_run.out), str(tmp_path / "local"))
    assert (
        (from_s3.articles, from_s3.clusters_with_pages)
        == (local.articles, local.clusters_with_pages)
        > (0, 0)
    )
    assert (tmp_path / "s3" / "data" / "index.js").read_text() == (
        tmp_path / "local" / "data" / "index.js"
    ).read_text()
