"""Copydesk's report: a static HTML report of an output root, readable offline.

    from report import write_report
    written = write_report("copydesk-data", "copydesk-data/report")

`index.html` holds the overview (per-day counts, cluster sizes, time to copy, top originals), who
copies whom and the errors; `clusters.html` the largest clusters, each copy set against its
original, loaded a page of clusters at a time from `data/`. The report reads the tables only
(through the store layer); it never imports Prefect or the flows.
"""

from __future__ import annotations

from report.build import ReportWritten, write_report

__all__ = ["ReportWritten", "write_report"]
