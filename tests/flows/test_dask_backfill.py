"""The backfill on a Dask cluster (prefect-dask): same tables as in one process, each host fetched by
one worker at a time, workers given the flow's Prefect API, a worker without it refused.

One LocalCluster of two worker processes serves the whole session (`dask_cluster`); it is given
the test harness's API as `flows.dask_runner` gives a LocalCluster the flow's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.backfill import sources_key
from flows.dask_runner import DaskSetupError, dask_task_runner, parse_spec, worker_env
from flows.lanes import host_of, plan_lanes
from ingest.records import PageRef
from tests.flows.dask_helpers import set_worker_env
from tests.flows.flows_helpers import (
    DAYS,
    FIRST_DAY,
    Backfilled,
    PlantedWarc,
    cluster_partition,
    cluster_roles,
    rows,
)
from tests.flows.local_site import LocalSite, Route, Serving, _Handler, page_html, story
from tests.flows.test_backfill import LAST_DAY, same_tables

DAY = date(2026, 3, 2)
PAGES = 8  # per site; batches of 3 make three batches of each host


@pytest.fixture
def dask_cluster(dask_cluster: str, prefect_api_url: str) -> Iterator[str]:
    """The session's cluster, its workers given the harness's API as `flows.dask_runner` gives a
    LocalCluster the flow's."""
    before = set_worker_env(dask_cluster, dict(worker_env(prefect_api_url)))
    yield dask_cluster
    set_worker_env(dask_cluster, next(iter(before.values())))


class _Counting(_Handler):
    """Counts requests in flight on its site, and answers slowly enough for two to overlap.

    A request counts from its arrival until just before its answer is written: once the client has
    its answer it may send the next request (on another connection, from another worker) before
    this thread is scheduled again, which would count one polite request after another as two at
    once (seen under load 7 on two cores).
    """

    def do_GET(self) -> None:
        site = self.site
        with site.lock:
            site.inflight += 1  # type: ignore[attr-defined]
            site.peak = max(site.peak, site.inflight)  # type: ignore[attr-defined]
        try:
            time.sleep(0.05)
        finally:
            with site.lock:
                site.inflight -= 1  # type: ignore[attr-defined]
        super().do_GET()


class CountingServing(Serving):
    def __enter__(self) -> LocalSite:
        site = super().__enter__()
        site.inflight = 0  # type: ignore[attr-defined]
        site.peak = 0  # type: ignore[attr-defined]
        self.server.RequestHandlerClass = type("Handler", (_Counting,), {"site": site})
        return site


def newsroom(sites: list[LocalSite], folder: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Each site: PAGES stories, its first two copies of the previous site's third and fourth;
    every page published at its own hour (no tie for the fetch time to break). Returns the `urls:`
    sources and the planted (copy, original) URL pairs."""
    sources, planted = [], []
    for k, site in enumerate(sites):
        lines = []
        for n in range(PAGES):
            seed = 100 * k + n if n >= 2 else 100 * ((k - 1) % len(sites)) + n + 2
            path = f"/news/{k}-{n}.html"
            hour = k * PAGES + n
            site.routes[path] = Route(
                page_html(f"Story {k}-{n}", story(seed, paragraphs=5), published=f"{DAY}T{hour:02d}:00:00Z")
            )
            lines.append(site.url(path))
            if n < 2:
                planted.append(
                    (
                        site.url(path),
                        sites[(k - 1) % len(sites)].url(f"/news/{(k - 1) % len(sites)}-{n + 2}.html"),
                    )
                )
        listing = folder / f"site{k}.txt"
        listing.write_text("\n".join(lines) + "\n")
        sources.append(f"urls:{listing}")
    return sources, planted


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[tuple[list[LocalSite], tuple[list[str], list[tuple[str, str]]]]]:
    servings = [CountingServing() for _ in range(3)]
    found = [s.__enter__() for s in servings]
    try:
        yield found, newsroom(found, tmp_path)
    finally:
        for s in servings:
            s.__exit__(None, None, None)


def test_backfill_on_two_workers_equals_in_process_and_keeps_hosts_to_one_lane(
    prefect_harness: None,
    dask_cluster: str,
    sites: tuple[list[LocalSite], tuple[list[str], list[tuple[str, str]]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.dask_flows import backfill_on

    found, (sources, planted) = sites
    monkeypatch.setenv("COPYDESK_FETCH_PER_HOST_CONCURRENCY", "1")
    options = {"allow_loopback": True, "per_host_delay_s": 0.0, "batch_size": 3}
    here = backfill_on(None, sources, DAY, DAY, str(tmp_path / "here"), **options)
    assert [s.peak for s in found] == [1, 1, 1]  # type: ignore[attr-defined]
    there = backfill_on(dask_cluster, sources, DAY, DAY, str(tmp_path / "there"), **options)
    assert there.days_done == here.days_done == [str(DAY)]
    assert there.articles_new == here.articles_new == 3 * PAGES
    # Three hosts in two lanes on two workers at once, each host still one request at a time.
    assert [s.peak for s in found] == [1, 1, 1]  # type: ignore[attr-defined]
    for name, drop in {"articles": ("raw_uri", "fetched_at", "run_id"), "clusters": ("run_id",)}.items():
        assert rows(tmp_path / "there", name, drop=drop) == rows(tmp_path / "here", name, drop=drop), name
    assert cluster_roles(tmp_path / "there") == cluster_roles(tmp_path / "here")
    together = {url: tuple(group) for group in cluster_partition(tmp_path / "there") for url in group}
    assert all(together[copy] == together[original] for copy, original in planted)  # copies found
    # A rerun on the cluster finds the day done: nothing fetched again, no row added.
    again = backfill_on(dask_cluster, sources, DAY, DAY, str(tmp_path / "there"), **options)
    assert again.days_skipped == [str(DAY)] and again.articles_new == 0


def test_plan_lanes_puts_each_host_in_one_lane() -> None:
    refs = [
        PageRef(url=f"https://h{h}.example/{n}", source="s", discovered_from="d")
        for h in range(5)
        for n in range(3 + h)
    ]
    lanes = plan_lanes(refs, lanes=2, batch_size=4)
    assert len(lanes) == 2
    hosts = [{host_of(r.url) for batch in lane for r in batch} for lane in lanes]
    assert not hosts[0] & hosts[1]
    assert sorted(r.url for lane in lanes for b in lane for r in b) == sorted(r.url for r in refs)
    assert max(len(b) for lane in lanes for b in lane) <= 4
    loads = sorted(sum(len(b) for b in lane) for lane in lanes)
    assert loads == [11, 14]  # hosts of 7, 6, 5, 4, 3 pages dealt largest first: 7+4+3, 6+5


def test_cluster_workers_have_the_flow_api_and_no_malloc_trim(
    dask_cluster: str, prefect_api_url: str
) -> None:
    with dask_task_runner(dask_cluster) as target:
        assert target.lanes == 2
    from distributed import Client

    with Client(dask_cluster, set_as_default=False) as client:
        seen = client.run(
            lambda: {k: os.environ.get(k) for k in ("PREFECT_API_URL", "MALLOC_TRIM_THRESHOLD_")}
        )
    assert [v["PREFECT_API_URL"] for v in seen.values()] == [prefect_api_url] * 2
    assert [v["MALLOC_TRIM_THRESHOLD_"] for v in seen.values()] == [None, None]


def test_a_worker_without_the_prefect_api_is_refused(dask_cluster: str, prefect_api_url: str) -> None:
    from distributed import Client

    with Client(dask_cluster, set_as_default=False) as client:
        client.run(lambda: os.environ.pop("PREFECT_API_URL", None))
        try:
            with (
                pytest.raises(DaskSetupError, match="has no PREFECT_API_URL"),
                dask_task_runner(dask_cluster),
            ):
                pass
        finally:
            client.run(lambda url: os.environ.__setitem__("PREFECT_API_URL", url), prefect_api_url)


def test_local_cluster_spec_starts_workers_with_the_flow_api(prefect_api_url: str) -> None:
    from distributed import Client

    with dask_task_runner("local:1") as target:
        assert target.lanes == 1 and target.api_url == prefect_api_url
        with Client(target.address, set_as_default=False) as client:
            [env] = client.run(lambda: dict(os.environ)).values()
    assert env["PREFECT_API_URL"] == prefect_api_url
    assert env["PREFECT_SERVER_EPHEMERAL_ENABLED"] == "false"
    assert "MALLOC_TRIM_THRESHOLD_" not in env


def test_backfill_on_local_cluster_killed_part_way_resumes_to_the_clean_tables(
    clean_backfill: Backfilled,
    planted_warc: PlantedWarc,
    subprocess_env: dict[str, str],
    dask_cluster: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`copydesk backfill --dask local:2` SIGKILLed after its first day: its workers go with it,
    and a rerun on a cluster ends with the tables of an uninterrupted run in one process."""
    import psutil

    from flows.dask_flows import backfill_on

    out = tmp_path / "data"
    markers = out / "state" / "backfill" / sources_key([planted_warc.source])
    command = [sys.executable, "-m", "flows", "backfill", planted_warc.source, "--dask", "local:2"]
    command += ["--start", str(FIRST_DAY), "--end", str(LAST_DAY), "--out", str(out)]
    log = tmp_path / "backfill.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, env=subprocess_env, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while not (markers / f"{FIRST_DAY}.done").exists():
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "no day finished in 300 s"
        time.sleep(0.01)
    children = psutil.Process(proc.pid).children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _, alive = psutil.wait_procs(children, timeout=60)
    assert not alive, [p.cmdline()[:3] for p in alive]  # no orphan Dask worker left running
    done_before = sorted(p.name for p in markers.glob("*.done"))
    assert 1 <= len(done_before) < DAYS, "the backfill ended before it could be killed"
    for path in out.rglob("*.parquet"):
        if not path.name.startswith(".tmp-"):
            pq.read_metadata(path)

    monkeypatch.setenv("COPYDESK_LEASE_WAIT_S", "30")  # the killed run's lease lives 3 s more
    resumed = backfill_on(dask_cluster, [planted_warc.source], FIRST_DAY, LAST_DAY, str(out))
    assert resumed.days_skipped == [name.removesuffix(".done") for name in done_before]
    assert len(resumed.days_done) == DAYS - len(done_before)
    same_tables(out, clean_backfill.out)


@pytest.mark.parametrize("spec", ["", "local:0", "local:x"])
def test_bad_dask_specs(spec: str) -> None:
    with pytest.raises(DaskSetupError):
        parse_spec(spec)


@pytest.mark.parametrize("spec", ["127.0.0.1:abc", "http://127.0.0.1:8786", "tcp://"])
def test_a_malformed_scheduler_address_is_one_clear_error(spec: str) -> None:
    from flows.dask_runner import dask_client

    with pytest.raises(DaskSetupError, match="not a Dask scheduler address"), dask_client(spec):
        pass
    with pytest.raises(DaskSetupError, match="not a Dask scheduler address"), dask_task_runner(spec):
        pass


def test_unreachable_scheduler_is_one_clear_error() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (
        pytest.raises(DaskSetupError, match="cannot reach the Dask scheduler"),
        dask_task_runner(f"127.0.0.1:{port}", connect_timeout_s=1),
    ):
        pass


_ = threading  # the handler runs in the server's threads
