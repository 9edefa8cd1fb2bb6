"""Fixtures of the flow tests.

- `demo_run`: the pipeline run twice over the demo newsroom into one folder (session-scoped).
- `planted_warc`: a WARC of news pages with planted copies spread over ten days (session-scoped),
  and `clean_backfill`: those ten days backfilled once, uninterrupted, into a folder.
- `subprocess_env`: the environment for a `copydesk` subprocess reporting to the test API.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.flows.flows_helpers import (
    DAYS,
    FIRST_DAY,
    Backfilled,
    DemoRun,
    PlantedWarc,
    planted_pages,
    row_counts,
    write_warc,
)


@pytest.fixture(scope="session")
def demo_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    from flows.demo import DemoNewsroom
    from flows.pipeline import pipeline

    out = tmp_path_factory.mktemp("demo-run") / "data"
    with DemoNewsroom() as site:
        sources = site.sources()
        first = pipeline(sources, str(out), allow_loopback=True, per_host_delay_s=0.0)
        after_first, requests_first = row_counts(out), site.requests_seen()
        second = pipeline(sources, str(out), allow_loopback=True, per_host_delay_s=0.0)
        after_second = row_counts(out)
        requests_second = site.requests_seen()[len(requests_first) :]
        yield DemoRun(
            out, site.expected(), first, second, after_first, after_second, requests_first, requests_second
        )


@pytest.fixture(scope="session")
def planted_warc(tmp_path_factory: pytest.TempPathFactory) -> PlantedWarc:
    pages = planted_pages()
    return PlantedWarc(write_warc(tmp_path_factory.mktemp("planted") / "crawl.warc.gz", pages), pages)


@pytest.fixture(scope="session")
def clean_backfill(
    prefect_harness: None, planted_warc: PlantedWarc, tmp_path_factory: pytest.TempPathFactory
) -> Backfilled:
    """The ten days of `planted_warc` backfilled in one uninterrupted run."""
    from datetime import timedelta

    from flows.backfill import backfill

    out = tmp_path_factory.mktemp("clean-backfill") / "data"
    last = FIRST_DAY + timedelta(days=DAYS - 1)
    return Backfilled(out, backfill([planted_warc.source], FIRST_DAY, last, str(out)))


@pytest.fixture
def subprocess_env(prefect_api_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment of a `copydesk` subprocess: the test API, its own PREFECT_HOME, fast leases."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPYDESK_")}
    home = tmp_path / "prefect-home"
    home.mkdir(exist_ok=True)
    env.update(
        {
            "PREFECT_API_URL": prefect_api_url,
            "PREFECT_HOME": str(home),
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "COPYDESK_LEASE_TTL_S": "3",
            "COPYDESK_LEASE_WAIT_S": "30",
        }
    )
    return env
