"""The `reextract` flow: rebuild `articles/` from the raw archive (`ingest.reextract`), fetching nothing.

For when the extractor improves. The raw archive is read from the output root's ``raw/`` folder.
The dedup index keeps the fingerprints of the texts as they were indexed: run the `dedup` flow
(`flows.recluster`) over the days whose texts changed to group them again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from prefect import flow, get_run_logger, task

from common.storage import resolve
from flows.exposure import check_run_parameters
from flows.lease import LeaseBusy
from flows.runtime import current_run_id, leased, library_log_levels, retrying, settings_with
from flows.tasks import TASK_DEFAULTS


@dataclass(slots=True)
class ReextractOutcome:
    """What a re-extraction made."""

    out: str
    pages_read: int = 0
    articles: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    busy: str | None = None


@task(name="reextract", **TASK_DEFAULTS)
def reextract_task(
    out: str,
    *,
    run_id: str,
    workers: int | None = None,
    endpoint_url: str | None = None,
    raw_store: str | None = None,
) -> ReextractOutcome:
    """Extract every raw page again (those under ``<raw_store>/raw/``, default ``<out>/raw/``) and
    replace `articles/`; returns counts, not the articles."""
    from ingest.reextract import reextract  # the ingest side's entry point

    root = resolve(out, endpoint_url=endpoint_url)
    raw_root = resolve(raw_store, endpoint_url=endpoint_url) if raw_store else None
    made = reextract(root, run_id=run_id, workers=workers, raw_root=raw_root)
    return ReextractOutcome(
        out=out,
        pages_read=made.pages_fetched,
        articles=len(made.articles),
        errors_by_kind=dict(sorted(Counter(e.kind for e in made.errors).items())),
    )


def _run_name() -> str:
    from prefect.runtime import flow_run

    return f"reextract {flow_run.parameters.get('out') or 'COPYDESK_OUT'}"


@flow(name="copydesk-reextract", flow_run_name=_run_name)
def reextract(out: str | None = None, workers: int | None = None) -> ReextractOutcome:
    """Extract every page of the raw archive (``<COPYDESK_RAW_STORE>/raw/``, default ``<out>/raw/``)
    again and replace ``<out>/articles/`` with the result.

    Args:
        out: output root, a folder or ``s3://bucket/prefix``; default ``COPYDESK_OUT``.
        workers: extraction processes (default: as many as the machine has cores).
    """
    from prefect.artifacts import create_table_artifact

    check_run_parameters({"out": out})
    library_log_levels()
    settings = settings_with(out=out)
    run_id = current_run_id()
    try:
        with leased(settings, run_id=run_id, what=f"reextract {settings.out}"):
            outcome = retrying(reextract_task, settings)(
                settings.out,
                run_id=run_id,
                workers=workers,
                endpoint_url=settings.s3_endpoint_url,
                raw_store=settings.raw_store_uri,
            )
    except LeaseBusy as exc:
        get_run_logger().warning("nothing done: %s", exc)
        outcome = ReextractOutcome(out=settings.out, busy=str(exc))
    rows: list[dict[str, Any]] = [
        {"count": "raw pages read", "value": outcome.pages_read},
        {"count": "articles", "value": outcome.articles},
        *({"count": f"errors: {k}", "value": n} for k, n in outcome.errors_by_kind.items()),
    ]
    if outcome.busy:
        rows.append({"count": "skipped, store busy", "value": outcome.busy})
    create_table_artifact(rows, key="copydesk-reextract-counts", description=f"reextract {settings.out}")
    return outcome
