"""Runtime settings: where output goes, how politely to fetch, how big a task is.

Read from ``COPYDESK_*`` environment variables (``COPYDESK_OUT=s3://bucket/news``,
``COPYDESK_FETCH_CONCURRENCY=16``), then overridden by what the command line or the flow's
parameters give. Algorithm parameters are not here: they belong to `dedup` and `ingest`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from flows.prefect_env import DEFAULT_DATA_DIR

DEFAULT_USER_AGENT = "Copydesk/0.1 (newsroom dedup crawler; +https://example.org/copydesk/contact)"


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
    s3_endpoint_url: str | None = Field(
        None,
        description="S3-compatible endpoint (MinIO, moto, R2); default AWS_ENDPOINT_URL, else AWS itself.",
    )
    user_agent: str = Field(
        DEFAULT_USER_AGENT,
        description="User-Agent sent with every request: name the crawler and give a contact URL.",
    )
    fetch_timeout_s: float = Field(20.0, gt=0, description="Timeout of one HTTP request, in seconds.")
    fetch_max_bytes: int = Field(
        5_000_000, gt=0, description="Largest response body accepted; larger pages are refused."
    )
    fetch_max_redirects: int = Field(5, ge=0, description="Redirects followed before giving up on a URL.")
    fetch_concurrency: int = Field(8, ge=1, description="Requests in flight at once within one batch task.")
    fetch_per_host_concurrency: int = Field(2, ge=1, description="Requests in flight at once to one host.")
    fetch_per_host_delay_s: float = Field(
        1.0, ge=0, description="Pause between two requests to the same host, in seconds."
    )
    respect_robots: bool = Field(True, description="Obey robots.txt (Disallow rules and Crawl-delay).")
    allow_loopback: bool = Field(
        False,
        description="Allow fetching from 127.0.0.1/localhost (the demo site); off to refuse SSRF targets.",
    )
    batch_size: int = Field(
        100, ge=1, description="Articles per ingest task: the unit of retry and of progress."
    )
    dedup_window_days: int = Field(
        30, ge=1, description="How far back, in days of publication, new articles are matched against."
    )
    task_retries: int = Field(2, ge=0, description="Retries of a task that failed on a transient error.")
    task_retry_delay_s: float = Field(10.0, ge=0, description="Pause before a task is retried, in seconds.")

    @property
    def raw_store_uri(self) -> str:
        """Root of the raw archive, which keeps pages in its ``raw/`` folder: `raw_store`, else `out`."""
        return self.raw_store or self.out
