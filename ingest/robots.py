"""robots.txt rules, fetched once per host for one fetching call, as RFC 9309 says to read them.

- 2xx: the file's rules (parsed by `urllib.robotparser`).
- 4xx (no file, forbidden): everything allowed.
- 5xx, 429 or unreachable: everything disallowed for now, reported as `FetchUnavailable` so the pages
  are retried later instead of being marked as refused forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from ingest.errors import FetchError, FetchUnavailable, Refused

log = logging.getLogger(__name__)

#: RFC 9309 asks crawlers to read at least 500 KiB of a robots.txt file.
ROBOTS_MAX_BYTES = 512 * 1024


@dataclass(slots=True)
class RobotsRules:
    """The robots.txt answer for one host."""

    parser: RobotFileParser | None
    unavailable: str | None = None

    def check(self, url: str, user_agent: str) -> None:
        """Raise if `url` may not be fetched by `user_agent`."""
        if self.unavailable is not None:
            raise FetchUnavailable(f"robots.txt unavailable, not fetching {url}: {self.unavailable}")
        if self.parser is not None and not self.parser.can_fetch(user_agent, url):
            raise Refused(f"robots.txt disallows {url}")

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None


#: Fetches a robots.txt URL: returns (status, body), raises FetchError when it cannot.
RobotsGetter = Callable[[str], Awaitable[tuple[int, bytes]]]


class RobotsCache:
    """robots.txt per ``scheme://host:port``, each fetched at most once (concurrent askers wait)."""

    def __init__(self, get: RobotsGetter, *, user_agent: str) -> None:
        self._get = get
        self._user_agent = user_agent
        self._rules: dict[str, asyncio.Task[RobotsRules]] = {}

    @staticmethod
    def key(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}"

    async def rules(self, url: str) -> RobotsRules:
        key = self.key(url)
        task = self._rules.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(key))
            self._rules[key] = task
        return await asyncio.shield(task)

    async def check(self, url: str) -> None:
        """Raise `Refused` (disallowed) or `FetchUnavailable` (no answer) unless `url` may be fetched."""
        (await self.rules(url)).check(url, self._user_agent)

    async def _load(self, key: str) -> RobotsRules:
        robots_url = f"{key}/robots.txt"
        try:
            status, body = await self._get(robots_url)
        except Refused as exc:
            # The host (or where robots.txt redirects to) is refused: no rules to read. A page on
            # a refused host is refused by the fetch itself, with the reason.
            log.info("robots.txt of %s not fetched: %s", key, exc)
            return RobotsRules(parser=None)
        except FetchUnavailable as exc:
            log.info("robots.txt of %s unavailable: %s", key, exc)
            return RobotsRules(parser=None, unavailable=str(exc))
        except FetchError as exc:
            # Not a temporary failure (say, an undecodable body): no rules to obey.
            log.info("robots.txt of %s unreadable: %s", key, exc)
            return RobotsRules(parser=None)
        if status >= 500 or status == 429:
            return RobotsRules(parser=None, unavailable=f"HTTP {status}")
        if not 200 <= status < 300:  # 4xx, or redirects that never ended: no rules
            return RobotsRules(parser=None)
        parser = RobotFileParser(robots_url)
        parser.parse(body[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace").splitlines())
        return RobotsRules(parser=parser)
