"""What runs publish to Prefect: run names, the counts table, the clusters page (read back from the API)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from flows.artifacts import clusters_markdown
from flows.summary import ClusterNews, RunSummary, counts_rows, merge_news
from tests.flows.flows_helpers import Backfilled, DemoRun


def news(cluster: str, size: int, *, created: bool = True) -> ClusterNews:
    return ClusterNews(
        cluster_id=cluster,
        size=size,
        created=created,
        original_id="o",
        original_title="Port *strike* | day 2",
        original_source="wire.example",
        members=[("wire.example", "original", False), ("herald.example", "near_duplicate", True)],
    )


def test_counts_rows_hold_every_figure_asked_for() -> None:
    summary = RunSummary(
        run_id="r",
        out="o",
        pages_fetched=5,
        articles_new=4,
        clusters_new=3,
        copies_new={"exact": 1},
        errors_by_kind={"HttpStatusError": 2},
    )
    table = {row["count"]: row["value"] for row in counts_rows(summary)}
    assert table["pages fetched or read"] == 5 and table["new articles"] == 4
    assert table["new clusters"] == 3 and table["new copies: exact"] == 1
    assert table["errors: HttpStatusError"] == 2 and table["errors this run"] == 2


def test_markdown_names_originals_and_members_and_escapes_markup() -> None:
    page = clusters_markdown("Largest new clusters: pipeline x", [news("c1", 2), news("c2", 1)])
    assert "## Port \\*strike\\* \\| day 2" in page
    assert "- wire.example: original" in page and "- **herald.example: near_duplicate**" in page
    assert page.count("## ") == 1  # a single article is not a cluster worth showing
    assert "No cluster" in clusters_markdown("t", [])


def test_merge_keeps_each_cluster_once_at_its_latest_size() -> None:
    merged = merge_news([[news("c1", 2), news("c2", 3)], [news("c1", 4, created=False)]])
    assert [(c.cluster_id, c.size, c.created) for c in merged] == [("c1", 4, True), ("c2", 3, True)]


def artifacts_of(run_id: str) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)])))
        return {a.key: a for a in found if a.key}


def run_name(run_id: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(run_id)).name


def test_pipeline_run_publishes_its_counts_and_largest_clusters(demo_run: DemoRun) -> None:
    first = demo_run.first
    found = artifacts_of(first.run_id)
    assert set(found) == {"copydesk-pipeline-counts", "copydesk-pipeline-clusters"}
    table = {row["count"]: row["value"] for row in json.loads(found["copydesk-pipeline-counts"].data)}
    assert table["new articles"] == first.articles_new == demo_run.expected["summary"]["articles"]
    assert table["new clusters"] == first.clusters_new == demo_run.expected["summary"]["clusters"]
    assert table["errors this run"] == demo_run.expected["summary"]["errors"]
    page = found["copydesk-pipeline-clusters"].data
    largest = first.top_clusters[0]
    assert largest.size >= 3 and largest.original_title and largest.original_title.split()[0] in page
    assert all(source in page for source, _, _ in largest.members)
    assert run_name(first.run_id).startswith("pipeline feed:http://127.0.0.1:")


def test_backfill_run_is_named_by_its_days_and_publishes_artifacts(clean_backfill: Backfilled) -> None:
    summary = clean_backfill.summary
    assert run_name(summary.run_id) == "backfill 2026-03-01..2026-03-10"
    found = artifacts_of(summary.run_id)
    table = {row["count"]: row["value"] for row in json.loads(found["copydesk-backfill-counts"].data)}
    assert table["days done"] == 10 and table["new clusters"] == summary.clusters_new > 0
    assert sum(v for k, v in table.items() if k.startswith("new copies: ")) == sum(
        summary.copies_new.values()
    )
    assert "Story" in found["copydesk-backfill-clusters"].data
