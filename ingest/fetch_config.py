"""How politely and how safely to fetch (`FetchConfig`), apart from the client that obeys it."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.netguard import AddressPolicy

DEFAULT_USER_AGENT = "Copydesk/0.1 (newsroom dedup crawler; +https://example.org/copydesk/contact)"


@dataclass(frozen=True, slots=True)
class FetchConfig:
    """How politely and how safely to fetch. Its defaults are Copydesk's: `flows.settings` reads them.

    Attributes:
        user_agent: sent with every request, and matched against robots.txt groups.
        timeout_s: time allowed for one request, from connecting to the body's last byte.
        max_bytes: largest page body (decoded); a larger one is refused.
        max_document_bytes: largest feed or sitemap body (decoded, before gunzip).
        max_redirects: redirect hops followed before giving up.
        concurrency: requests in flight at once, all hosts together.
        per_host_concurrency: requests in flight at once to one host.
        per_host_delay_s: least time between two request starts to one host.
        allow_loopback: allow 127.0.0.0/8 and ::1 (the demo site, tests).
        allow_private: allow private, link-local and other non-public addresses.
        respect_robots: read and obey robots.txt.
        max_retries: retries of a 429 / 503 answer.
        retry_statuses: the statuses retried.
        max_retry_after_s: longest wait before a retry; an answer asking for more is not retried.
        retry_backoff_s: first wait when the answer gives no Retry-After (doubled each retry).
    """

    user_agent: str = DEFAULT_USER_AGENT
    timeout_s: float = 20.0
    max_bytes: int = 5_000_000
    max_document_bytes: int = 50 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 8
    per_host_concurrency: int = 2
    per_host_delay_s: float = 1.0
    allow_loopback: bool = False
    allow_private: bool = False
    respect_robots: bool = True
    max_retries: int = 2
    retry_statuses: tuple[int, ...] = (429, 503)
    max_retry_after_s: float = 60.0
    retry_backoff_s: float = 1.0

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.max_bytes <= 0 or self.max_document_bytes <= 0:
            raise ValueError("timeout_s, max_bytes and max_document_bytes must be positive")
        if self.concurrency < 1 or self.per_host_concurrency < 1:
            raise ValueError("concurrency and per_host_concurrency must be at least 1")
        if min(self.max_redirects, self.max_retries) < 0 or self.per_host_delay_s < 0:
            raise ValueError("max_redirects, max_retries and per_host_delay_s must not be negative")

    @property
    def policy(self) -> AddressPolicy:
        return AddressPolicy(allow_loopback=self.allow_loopback, allow_private=self.allow_private)
