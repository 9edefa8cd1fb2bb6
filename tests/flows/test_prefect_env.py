from __future__ import annotations

from pathlib import Path

from flows.prefect_env import DEFAULT_DATA_DIR, configure, prefect_home_for


def test_defaults_fill_an_empty_environment(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    applied = configure(str(tmp_path / "new" / "out"), env=env)
    assert env == applied
    assert env["PREFECT_HOME"] == str(tmp_path / "new" / "out" / ".prefect")
    assert Path(env["PREFECT_HOME"]).is_dir()  # Prefect itself cannot create missing parents
    assert env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "120"
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert env["DO_NOT_TRACK"] == "1"


def test_user_values_are_kept(tmp_path: Path) -> None:
    env = {"PREFECT_HOME": "/somewhere/else", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "5"}
    applied = configure(str(tmp_path), env=env)
    assert env["PREFECT_HOME"] == "/somewhere/else"
    assert env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "5"
    assert "PREFECT_HOME" not in applied
    assert not (tmp_path / ".prefect").exists()


def test_object_store_output_keeps_prefect_home_local() -> None:
    assert prefect_home_for("s3://bucket/news") == str((Path(DEFAULT_DATA_DIR) / ".prefect").resolve())
    assert prefect_home_for("file:///data/news") == "/data/news/.prefect"
