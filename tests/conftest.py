"""Shared fixtures. Prefect's environment is set here, at collection, before anything imports Prefect."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest

from flows.prefect_env import configure
from tests.s3_server import ENDPOINT_SETTINGS, FAKE_CREDENTIALS, client, moto_server, reset

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


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """One moto S3 server on 127.0.0.1 for the session: its endpoint URL. Nothing in the
    environment: tests take it through `moto_endpoint` or `s3_endpoint`."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def moto_endpoint(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The session's S3 server, with the fake credentials in the environment and no default
    endpoint there: clients are given the endpoint (or a fault proxy's in front of it), and a
    test makes its own bucket (`tests.s3_server.new_bucket`)."""
    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    for key in ENDPOINT_SETTINGS:
        monkeypatch.delenv(key, raising=False)
    return s3_server


@pytest.fixture
def s3_endpoint(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The session's S3 server as every client's default endpoint (AWS_ENDPOINT_URL), the fake
    credentials, and nothing on it but an empty bucket `news`."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    reset(moto_endpoint)  # earlier tests' buckets, `news` among them, go
    client(moto_endpoint).create_bucket(Bucket="news")
    return moto_endpoint
