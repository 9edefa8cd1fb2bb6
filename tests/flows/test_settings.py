from __future__ import annotations

import pytest

from flows.settings import Settings


def test_every_setting_is_described() -> None:
    missing = [name for name, f in Settings.model_fields.items() if not f.description]
    assert missing == []


def test_defaults() -> None:
    s = Settings(_env_file=None)
    assert s.out == "./copydesk-data"
    assert s.raw_store_uri == "./copydesk-data"  # the archive keeps its pages in <root>/raw/
    assert s.fetch_per_host_delay_s == 1.0
    assert s.allow_loopback is False
    assert s.batch_size == 100
    assert s.dedup_window_days == 30
    assert "http" in s.user_agent


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYDESK_OUT", "s3://bucket/news")
    monkeypatch.setenv("COPYDESK_BATCH_SIZE", "25")
    monkeypatch.setenv("COPYDESK_ALLOW_LOOPBACK", "true")
    s = Settings()
    assert (s.out, s.batch_size, s.allow_loopback) == ("s3://bucket/news", 25, True)
    assert s.raw_store_uri == "s3://bucket/news"
    monkeypatch.setenv("COPYDESK_RAW_STORE", "s3://raw-bucket")
    assert Settings().raw_store_uri == "s3://raw-bucket"
    assert Settings(batch_size=7).batch_size == 7


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYDESK_BATCH_SIZE", "0")
    with pytest.raises(ValueError, match="batch_size"):
        Settings()


def test_sources_are_a_json_list_or_separated_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "COPYDESK_SOURCES", "feed:https://a.example/rss, sitemap:https://b.example/sm.xml\ndir:/x"
    )
    assert Settings().sources == ["feed:https://a.example/rss", "sitemap:https://b.example/sm.xml", "dir:/x"]
    monkeypatch.setenv("COPYDESK_SOURCES", '["feed:https://a.example/rss?a=1,2"]')
    assert Settings().sources == ["feed:https://a.example/rss?a=1,2"]
    monkeypatch.delenv("COPYDESK_SOURCES")
    assert Settings().sources == []


def test_schedule_and_lease_defaults() -> None:
    s = Settings(_env_file=None)
    assert (s.schedule_cron, s.schedule_interval_min, s.schedule_timezone) == (None, 15.0, "UTC")
    assert s.lease_ttl_s == 300.0 and s.lease_wait_s == 120.0


def test_settings_and_the_libraries_share_their_defaults() -> None:
    """A library caller and the command line crawl with the same politeness and match the same window."""
    import inspect

    from dedup.index import DedupIndex
    from flows.pipeline import fetch_config
    from flows.tasks import TASK_DEFAULTS, deduplicate_articles
    from ingest.fetch import FetchConfig

    s = Settings(_env_file=None)
    assert fetch_config(s) == FetchConfig()
    assert (FetchConfig().timeout_s, FetchConfig().concurrency) == (20.0, 8)
    window = inspect.signature(DedupIndex).parameters["window_days"].default
    assert window == s.dedup_window_days
    assert inspect.signature(deduplicate_articles.fn).parameters["window_days"].default == window
    assert (TASK_DEFAULTS["retries"], TASK_DEFAULTS["retry_delay_seconds"]) == (
        s.task_retries,
        s.task_retry_delay_s,
    )
