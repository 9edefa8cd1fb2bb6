"""`copydesk serve`: the deployments it builds, and a served deployment that really runs."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from flows.cli import main
from flows.deployments import BACKFILL, DEDUP, PIPELINE, REEXTRACT, ServeError, check, deployments
from flows.settings import Settings
from tests.flows.flows_helpers import PlantedWarc, table


def test_deployments_carry_the_sources_and_the_schedule_of_the_settings() -> None:
    made = deployments(Settings(sources=["dir:/news/saved"], out="/data"))
    assert [d.full_name for d in made] == [PIPELINE, BACKFILL, DEDUP, REEXTRACT]
    scheduled = made[0]
    assert scheduled.entrypoint == "flows.pipeline.pipeline"
    assert scheduled.parameters == {"sources": ["dir:/news/saved"], "out": "/data"}
    [schedule] = scheduled.schedules or []
    assert schedule.schedule.interval == timedelta(minutes=15)  # type: ignore[union-attr]
    assert all(not d.schedules for d in made[1:])  # the others run by hand
    assert made[1].parameters == scheduled.parameters and made[2].parameters == {"out": "/data"}

    cron = deployments(
        Settings(sources=["dir:/x"], schedule_cron="*/10 6-22 * * *", schedule_timezone="Europe/Paris")
    )
    [schedule] = cron[0].schedules or []
    assert schedule.schedule.cron == "*/10 6-22 * * *"  # type: ignore[union-attr]
    assert schedule.schedule.timezone == "Europe/Paris"  # type: ignore[union-attr]


def test_a_sources_file_alone_is_enough_to_serve_and_reaches_the_flows() -> None:
    made = deployments(Settings(sources=[], sources_file="/etc/copydesk/sources.toml", out="/data"))
    expected = {"sources": [], "out": "/data", "sources_file": "/etc/copydesk/sources.toml"}
    assert made[0].parameters == made[1].parameters == expected


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (Settings(sources=[]), "no sources"),
        (Settings(sources=["dir:/x"], schedule_cron="every minute"), "not a cron expression"),
        (Settings(sources=["dir:/x"], schedule_timezone="Mars/Olympus"), "not a time zone"),
    ],
)
def test_settings_that_cannot_be_served_are_refused(settings: Settings, message: str) -> None:
    with pytest.raises(ServeError, match=message):
        check(settings)


def test_serve_without_sources_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COPYDESK_SOURCES", raising=False)
    assert main(["serve", "--out", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no sources to schedule" in err


def test_a_served_deployment_runs_when_triggered(
    prefect_api_url: str, subprocess_env: dict[str, str], planted_warc: PlantedWarc, tmp_path: Path
) -> None:
    """`copydesk serve` in a subprocess against the test API; the test triggers the pipeline deployment."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    saved = tmp_path / "saved"
    saved.mkdir()
    for page in planted_warc.pages[:3]:
        (saved / f"{page.doc_id}.html").write_text(page.html(), encoding="utf-8")
    out = tmp_path / "data"
    env = {
        **subprocess_env,
        "COPYDESK_SOURCES": f"dir:{saved}",
        "COPYDESK_SCHEDULE_CRON": "0 3 1 1 *",  # due in January only: the test triggers it by hand
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flows", "serve", "--out", str(out)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        with get_client(sync_client=True) as client:
            while True:
                assert proc.poll() is None, log.read_text()[-3000:]
                with contextlib.suppress(ObjectNotFound):
                    deployment = client.read_deployment_by_name(PIPELINE)
                    if deployment.schedules and deployment.schedules[0].schedule.model_dump().get("cron"):
                        break
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
        assert [s.schedule.cron for s in deployment.schedules] == ["0 3 1 1 *"]  # type: ignore[union-attr]
        run = run_deployment(PIPELINE, timeout=120, poll_interval=1)
        assert run.state is not None and run.state.is_completed(), (run.state, log.read_text()[-3000:])
        [(articles,)] = duckdb.sql(f"select count(*) from {table(out, 'articles')}").fetchall()
        [(clusters,)] = duckdb.sql(f"select count(*) from {table(out, 'clusters')}").fetchall()
        assert articles == clusters == 3
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
