"""Runtime settings: where output goes, how politely to fetch, how big a task is.

Read from ``COPYDESK_*`` environment variables (``COPYDESK_OUT=s3://bucket/news``,
``COPYDESK_FETCH_CONCURRENCY=16``), then overridden by what the command line or the flow's
parameters give. Algorithm parameters are not here: they belong to `dedup` and `ingest`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dedup.index import DEFAULT_WINDOW_DAYS
from flows.lease import DEFAULT_LEASE_TTL_S, DEFAULT_LEASE_WAIT_S
from flows.prefect_env import DEFAULT_DATA_DIR
from ingest.discover import DEFAULT_MAX_SITEMAP_URLS
from ingest.fetch import FetchConfig

#: The fetch defaults are `ingest.fetch.FetchConfig`'s, so a library caller and the command line
#: crawl with the same politeness.
FETCH = FetchConfig()
#: Retries of a task that failed on a transient error, and the pause before the first.
TASK_RETRIES = 2
TASK_RETRY_DELAY_S = 10.0


class Settings(BaseSettings):
    """Copydesk's runtime settings (environment prefix ``COPYDESK_``)."""

    model_config = SettingsConfigDict(env_prefix="COPYDESK_", extra="ignore")

    out: str = Field(
        DEFAULT_DATA_DIR,
        description="Output root: a local folder or s3://bucket/prefix; tables go to <out>/articles/ etc.",
    )
    raw_store: str | None = Field(
        None,
        description="Root under which raw pages are archived, in its raw/ folder (local or s3://); "
        "default the output root, hence <out>/raw/.",
    )
    report_dir: str | None = Field(
        None,
        description="Local folder where each pipeline or backfill run writes the HTML report of the "
        "output root (as `copydesk report --to`), linked from the run's artifacts; none: no report.",
    )
    s3_endpoint_url: str | None = Field(
        None,
        description="S3-compatible endpoint (MinIO, moto, R2) of inputs, outputs and the raw archive alike; "
        "default AWS_ENDPOINT_URL, else AWS itself.",
    )
    user_agent: str = Field(
        FETCH.user_agent,
        description="User-Agent sent with every request: name the crawler and give a contact URL.",
    )
    fetch_timeout_s: float = Field(
        FETCH.timeout_s, gt=0, description="Timeout of one HTTP request, in seconds."
    )
    fetch_max_bytes: int = Field(
        FETCH.max_bytes, gt=0, description="Largest response body accepted; larger pages are refused."
    )
    fetch_max_redirects: int = Field(
        FETCH.max_redirects, ge=0, description="Redirects followed before giving up on a URL."
    )
    fetch_concurrency: int = Field(
        FETCH.concurrency, ge=1, description="Requests in flight at once within one batch task."
    )
    fetch_per_host_concurrency: int = Field(
        FETCH.per_host_concurrency, ge=1, description="Requests in flight at once to one host."
    )
    fetch_per_host_delay_s: float = Field(
        FETCH.per_host_delay_s, ge=0, description="Pause between two requests to the same host, in seconds."
    )
    respect_robots: bool = Field(
        FETCH.respect_robots, description="Obey robots.txt (Disallow rules and Crawl-delay)."
    )
    allow_loopback: bool = Field(
        FETCH.allow_loopback,
        description="Allow fetching from 127.0.0.1/localhost (the demo site); off to refuse SSRF targets.",
    )
    batch_size: int = Field(
        100, ge=1, description="Articles per ingest task: the unit of retry and of progress."
    )
    dedup_window_days: int = Field(
        DEFAULT_WINDOW_DAYS,
        ge=1,
        description="How far back, in days of publication, new articles are matched against.",
    )
    task_retries: int = Field(
        TASK_RETRIES, ge=0, description="Retries of a task that failed on a transient error."
    )
    task_retry_delay_s: float = Field(
        TASK_RETRY_DELAY_S,
        ge=0,
        description="Pause before a task's first retry, in seconds; each later retry waits twice as long.",
    )
    sources: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Sources of the scheduled pipeline (`copydesk serve`): a JSON list, or specs "
        "separated by commas or whitespace, e.g. 'feed:https://a.example/rss sitemap:https://b.example/sm.xml'.",
    )
    sources_file: str | None = Field(
        None,
        description="A TOML sources file of publishers (their feeds, sitemaps, priority and fetch "
        "overrides, see ingest.config), read by every run on top of the sources given.",
    )
    schedule_cron: str | None = Field(
        None,
        description="Cron expression of the scheduled pipeline (e.g. '*/10 6-23 * * *'); "
        "default: every `schedule_interval_min` minutes.",
    )
    schedule_interval_min: float = Field(
        15.0, gt=0, description="Minutes between scheduled pipeline runs, when no cron is given."
    )
    schedule_timezone: str = Field("UTC", description="Time zone the cron expression is read in.")
    lease_ttl_s: float = Field(
        DEFAULT_LEASE_TTL_S,
        gt=0,
        description="Life of the lease a run holds on the output root; renewed every third of it while "
        "the run lives, so a run that died frees the store after this long.",
    )
    lease_wait_s: float = Field(
        DEFAULT_LEASE_WAIT_S,
        ge=0,
        description="How long a run waits for another run's lease on the same output root before it "
        "gives up with a one-line message (0: give up at once).",
    )
    max_sitemap_urls: int = Field(
        DEFAULT_MAX_SITEMAP_URLS,
        gt=0,
        description="Page URLs taken from one sitemap source (an index and its child sitemaps) in one run; "
        "the child sitemaps not read are read by the next runs.",
    )
    trust_run_parameters: bool = Field(
        False,
        description="Let a run started through the Prefect API ask for allow_loopback or local paths "
        "(urls:/warc:/dir: files, sources_file, out) that its deployment does not set itself "
        "(flows/exposure.py). Only for an API that no one untrusted can reach.",
    )
    server_port: int = Field(
        4200,
        ge=0,
        le=65535,
        description="Port of the local Prefect server `copydesk serve` starts when PREFECT_API_URL is unset.",
    )

    @field_validator("sources", mode="before")
    @classmethod
    def _split_sources(cls, value: Any) -> Any:
        """A JSON list, or specs separated by commas, spaces or newlines."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part for part in text.replace(",", " ").split() if part]

    @property
    def raw_store_uri(self) -> str:
        """Root of the raw archive, which keeps pages in its ``raw/`` folder: `raw_store`, else `out`."""
        return self.raw_store or self.out
