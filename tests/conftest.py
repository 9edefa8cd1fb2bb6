"""Shared fixtures. Prefect's environment is set here, at collection, before anything imports Prefect."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest

from flows.prefect_env import configure

# A throwaway PREFECT_HOME: tests never touch ./copydesk-data or ~/.prefect.
_PREFECT_ROOT = tempfile.mkdtemp(prefix="copydesk-tests-")
configure(_PREFECT_ROOT)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_PREFECT_ROOT, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API and database for the session (about 20 s to start: use only where needed)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=None):
        yield


@pytest.fixture(scope="session")
def prefect_api_url(prefect_harness: None) -> str:
    """The URL of the harness's API server, which other processes (a `copydesk` subprocess) can reach."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url, "the Prefect test harness set no API URL"
    return str(url)


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[str]:
    """One LocalCluster of two single-threaded worker processes for the session (a few seconds to
    start), spawned without the nanny's MALLOC_TRIM_THRESHOLD_ as `flows.dask_runner` spawns them.
    Tests that need more in the workers' environment set it there (`dask_helpers.set_worker_env`)."""
    import dask
    from distributed import LocalCluster

    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", host="127.0.0.1"
        ) as cluster,
    ):
        yield cluster.scheduler_address
