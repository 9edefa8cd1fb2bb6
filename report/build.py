"""Write the report of an output root into a local folder: the pages, their data and assets."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources

from common.errors import CopydeskError, PermanentError
from common.storage import resolve
from report import figures, pages
from report.clusters import write_cluster_pages
from report.tables import read_tables

#: Clusters that get a page, the largest first.
DEFAULT_CLUSTERS = 300
PLOTLY_JS = "plotly.min.js"


class ReportError(PermanentError, CopydeskError):
    """The report cannot be written where it was asked (not a local folder, not writable)."""


@dataclass(frozen=True, slots=True)
class ReportWritten:
    """Where the report is and what it holds."""

    index: str
    articles: int
    clusters_with_pages: int
    overview_bytes: int
    seconds: float


def write_report(
    out: str,
    to: str,
    *,
    start: date | None = None,
    end: date | None = None,
    clusters: int = DEFAULT_CLUSTERS,
) -> ReportWritten:
    """Read the tables under `out` (a folder or s3://) and write the report into the folder `to`.

    Args:
        start, end: partition days to report on (both included); None for no bound.
        clusters: how many of the largest clusters get a page.
    """
    started = time.perf_counter()
    if "://" in to:
        raise ReportError(f"the report is written to a local folder, not {to!r}")
    root = resolve(out)
    tables = read_tables(root, start=start, end=end)
    try:
        os.makedirs(os.path.join(to, "assets"), exist_ok=True)
        _copy_assets(os.path.join(to, "assets"))
        written = write_cluster_pages(tables, to, limit=clusters)
        generated = datetime.now(UTC)
        span = _span(start, end)
        found = figures.compute(tables)
        overview = pages.index_html(
            found, root=root.uri, span=span, generated=generated, cluster_pages=written.clusters
        )
        index = os.path.join(to, "index.html")
        _write(index, overview)
        _write(
            os.path.join(to, "clusters.html"),
            pages.clusters_html(root=root.uri, span=span, generated=generated, clusters=written.clusters),
        )
    except OSError as exc:
        raise ReportError(f"cannot write the report into {to}: {exc}") from exc
    return ReportWritten(
        index=os.path.abspath(index),
        articles=found.articles,
        clusters_with_pages=written.clusters,
        overview_bytes=len(overview.encode()),
        seconds=time.perf_counter() - started,
    )


def _span(start: date | None, end: date | None) -> str:
    if start is None and end is None:
        return "all days"
    return f"{start or '…'} to {end or '…'}"


def _write(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _copy_assets(folder: str) -> None:
    assets = resources.files("report") / "assets"
    for name in ("report.css", "clusters.js"):
        with resources.as_file(assets / name) as path:
            shutil.copyfile(path, os.path.join(folder, name))
    target = os.path.join(folder, PLOTLY_JS)
    from plotly.offline import get_plotlyjs

    script = get_plotlyjs()
    if not os.path.exists(target) or os.path.getsize(target) != len(script.encode()):
        _write(target, script)
