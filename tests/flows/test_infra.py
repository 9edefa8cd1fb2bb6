"""infra/: what can be checked without a Docker engine. The compose file and the Dockerfile name
what exists; `prefect deploy` registers prefect.yaml's deployments against the test API."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"


def test_compose_has_server_database_store_and_worker() -> None:
    compose = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "prefect-server", "minio", "worker"} <= set(services)
    server = services["prefect-server"]
    assert server["environment"]["PREFECT_SERVER_DATABASE_HOST"] == "postgres"
    worker = services["worker"]
    assert (
        INFRA / worker["build"]["context"] / worker["build"]["dockerfile"]
    ).resolve() == INFRA / "Dockerfile"
    assert worker["environment"]["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    assert worker["environment"]["AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert "--pool copydesk" in worker["command"]
    assert worker["environment"]["COPYDESK_OUT"].startswith("s3://copydesk/")
    assert "mb --ignore-existing store/copydesk" in services["create-bucket"]["entrypoint"]


def test_compose_binds_to_loopback_and_keeps_no_credentials() -> None:
    text = (INFRA / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
    example = dict(
        line.split("=", 1)
        for line in (INFRA / "copydesk.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for key in (
        "POSTGRES_PASSWORD",
        "MINIO_ROOT_PASSWORD",
        "AWS_SECRET_ACCESS_KEY",
        "PREFECT_SERVER_API_AUTH_STRING",
    ):
        assert key in example
        assert example[key] not in text  # no secret of the example written into the compose file
    for name in ("postgres", "prefect-server", "minio", "worker", "create-bucket", "deploy"):
        assert compose["services"][name]["env_file"] == "copydesk.env"
    assert "copydesk-secret" not in text


def test_dockerfile_copies_what_exists() -> None:
    lines = (INFRA / "Dockerfile").read_text().splitlines()
    copied = [line.split()[1] for line in lines if line.startswith("COPY ")]
    assert copied and all((ROOT / path).exists() for path in copied)


def test_dockerfile_copies_every_package_of_the_wheel() -> None:
    import tomllib

    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = {pattern.rstrip("*") for pattern in find["include"]}
    lines = (INFRA / "Dockerfile").read_text().splitlines()
    copied = {line.split()[1] for line in lines if line.startswith("COPY ")}
    assert packages == {"common", "ingest", "dedup", "flows", "report"}
    assert packages <= copied


def test_prefect_yaml_registers_the_four_deployments(
    prefect_api_url: str, subprocess_env: dict[str, str]
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name="copydesk", type="process"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "prefect",
            "--no-prompt",
            "deploy",
            "--all",
            "--prefect-file",
            "infra/prefect.yaml",
        ],
        cwd=ROOT,
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    names = (
        "copydesk-backfill/by-hand",
        "copydesk-dedup/by-hand",
        "copydesk-reextract/by-hand",
        "copydesk-backfill-dask/by-hand",
        "copydesk-dedup-table-dask/by-hand",
    )
    with get_client(sync_client=True) as client:
        scheduled = client.read_deployment_by_name("copydesk-pipeline/scheduled")
        others = [client.read_deployment_by_name(name) for name in names]
        for deployment in (scheduled, *others):  # the serve test registers the same names
            client.delete_deployment(deployment.id)
    assert scheduled.work_pool_name == "copydesk"
    assert scheduled.parameters["out"] == "s3://copydesk/data" and scheduled.parameters["sources"]
    assert [s.schedule.interval for s in scheduled.schedules] == [timedelta(minutes=15)]  # type: ignore[union-attr]
    assert all(not d.schedules and d.work_pool_name == "copydesk" for d in others)
    # start and end have no default: a backfill run must name its days
    assert {"start", "end"} <= set(others[0].parameter_openapi_schema["required"])
    on_dask = others[3]
    assert on_dask.entrypoint == "flows/dask_flows.py:backfill_dask"
    assert {"start", "end"} <= set(on_dask.parameter_openapi_schema["required"])
    assert "dask" in on_dask.parameter_openapi_schema["properties"]
    table_on_dask = others[4]
    assert table_on_dask.entrypoint == "flows/dask_flows.py:dedup_table_dask"
    assert "input" in table_on_dask.parameter_openapi_schema["required"]
    assert table_on_dask.parameters["out"].startswith("s3://")


def test_compose_has_a_dask_scheduler_and_two_workers_that_reach_prefect() -> None:
    services = yaml.safe_load((INFRA / "docker-compose.yml").read_text())["services"]
    assert "dask scheduler" in services["dask-scheduler"]["command"]
    assert "--port 8786" in services["dask-scheduler"]["command"]
    workers = [services[f"dask-worker-{k}"] for k in (1, 2)]
    for worker in workers:
        assert worker["command"].startswith("dask worker tcp://dask-scheduler:8786")
        env = worker["environment"]
        assert env["PREFECT_API_URL"] == services["worker"]["environment"]["PREFECT_API_URL"]
        assert env["PREFECT_SERVER_EPHEMERAL_ENABLED"] == "false"
        assert env["AWS_ENDPOINT_URL"] == "http://minio:9000"
        assert worker["image"] == services["worker"]["image"]
    assert services["worker"]["environment"]["COPYDESK_DASK_ADDRESS"] == "tcp://dask-scheduler:8786"


def test_dask_yaml_spawns_workers_without_malloc_trim() -> None:
    """Read as a `dask worker` reads it (DASK_CONFIG here, /etc/dask/ in the image)."""
    code = (
        "import json; from distributed.nanny import _get_env_variables; "
        "print(json.dumps(_get_env_variables('distributed.nanny.pre-spawn-environ')))"
    )

    def spawned(extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DASK_", "MALLOC_"))} | extra
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    assert "MALLOC_TRIM_THRESHOLD_" in spawned({})
    shipped = spawned({"DASK_CONFIG": str(INFRA / "dask.yaml")})
    assert "MALLOC_TRIM_THRESHOLD_" not in shipped and shipped["OMP_NUM_THREADS"] == "1"
    dockerfile = (INFRA / "Dockerfile").read_text()
    assert "COPY infra/dask.yaml /etc/dask/" in dockerfile and "'.[dask]'" in dockerfile
