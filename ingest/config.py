"""The sources file: the publishers a newsroom follows, their feeds and sitemaps, and their quirks.

A TOML file (read with the standard library's tomllib), one ``[[publisher]]`` table each::

    [[publisher]]
    name = "Harbor Herald"
    feeds = ["https://herald.example/rss.xml"]
    sitemaps = ["https://herald.example/news-sitemap.xml"]
    priority = 10                      # optional, default 0: wins ties when picking an original

    [publisher.overrides]              # optional: this publisher's fetch settings
    per_host_delay_s = 2.0
    user_agent = "Copydesk/0.1 (+https://newsroom.example/bot; herald agreement)"
    max_bytes = 8_000_000
    respect_robots = true

Feeds and sitemaps take what ``feed:`` and ``sitemap:`` sources take: an http(s) URL, a local
path or an ``s3://`` URI. Any mistake is one `DiscoveryError` line naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import DiscoveryError
from ingest.fetch import FetchConfig
from ingest.sources import SourceSpec, parse_source

_PUBLISHER_KEYS = frozenset({"name", "feeds", "sitemaps", "priority", "overrides"})


@dataclass(frozen=True, slots=True)
class Overrides:
    """Fetch settings of one publisher; None keeps the run's own."""

    per_host_delay_s: float | None = None
    user_agent: str | None = None
    max_bytes: int | None = None
    respect_robots: bool | None = None

    def apply(self, config: FetchConfig) -> FetchConfig:
        """`config` with the settings this publisher overrides."""
        changes = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})


@dataclass(frozen=True, slots=True)
class Publisher:
    """One publisher of the sources file."""

    name: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    priority: int = 0
    overrides: Overrides = field(default_factory=Overrides)

    def sources(self) -> list[SourceSpec]:
        """Its feeds and sitemaps as source specs, feeds first."""
        return [SourceSpec("feed", url) for url in self.feeds] + [
            SourceSpec("sitemap", url) for url in self.sitemaps
        ]

    def fetch_config(self, base: FetchConfig) -> FetchConfig:
        """The fetch settings for this publisher's documents and pages."""
        return self.overrides.apply(base)


def load_sources(path: str | Path) -> list[Publisher]:
    """Read the publishers of a sources file, in file order.

    Raises:
        DiscoveryError: the file is missing, is not TOML, or a key is missing, unknown or wrong.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DiscoveryError(f"{path}: cannot read the sources file: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DiscoveryError(f"{path}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"publisher"})
    if unknown:
        raise DiscoveryError(f"{path}: unknown key {unknown[0]!r} (expected [[publisher]] tables)")
    tables = data.get("publisher")
    if not isinstance(tables, list) or not tables:
        raise DiscoveryError(f"{path}: no [[publisher]] tables")
    publishers: list[Publisher] = []
    seen: set[str] = set()
    for number, table in enumerate(tables, start=1):
        where = f"{path}: publisher #{number}"
        publisher = _publisher(table, where)
        if publisher.name.casefold() in seen:
            raise DiscoveryError(f"{where} ({publisher.name}): name {publisher.name!r} is given twice")
        seen.add(publisher.name.casefold())
        publishers.append(publisher)
    return publishers


def _publisher(table: Any, where: str) -> Publisher:
    if not isinstance(table, dict):
        raise DiscoveryError(f"{where}: must be a table")
    unknown = sorted(set(table) - _PUBLISHER_KEYS)
    if unknown:
        raise DiscoveryError(f"{where}: unknown key {unknown[0]!r}")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DiscoveryError(f"{where}: key 'name' must be a non-empty string")
    where = f"{where} ({name.strip()})"
    feeds = _targets(table, "feeds", "feed", where)
    sitemaps = _targets(table, "sitemaps", "sitemap", where)
    if not feeds and not sitemaps:
        raise DiscoveryError(f"{where}: give at least one of 'feeds' or 'sitemaps'")
    priority = table.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise DiscoveryError(f"{where}: key 'priority' must be an integer")
    return Publisher(name.strip(), feeds, sitemaps, priority, _overrides(table.get("overrides", {}), where))


def _targets(table: dict[str, Any], key: str, kind: str, where: str) -> tuple[str, ...]:
    values = table.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise DiscoveryError(f"{where}: key {key!r} must be a list of strings")
    for i, value in enumerate(values):
        try:
            parse_source(f"{kind}:{value}")
        except DiscoveryError as exc:
            raise DiscoveryError(f"{where}: {key}[{i}]: {exc}") from exc
    return tuple(v.strip() for v in values)


def _overrides(table: Any, where: str) -> Overrides:
    if not isinstance(table, dict):
        raise DiscoveryError(f"{where}: key 'overrides' must be a table")
    allowed = {f.name for f in dataclasses.fields(Overrides)}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise DiscoveryError(
            f"{where}: unknown key 'overrides.{unknown[0]}' (known: {', '.join(sorted(allowed))})"
        )
    delay = table.get("per_host_delay_s")
    if delay is not None and (not isinstance(delay, (int, float)) or isinstance(delay, bool) or delay < 0):
        raise DiscoveryError(f"{where}: key 'overrides.per_host_delay_s' must be a number >= 0")
    agent = table.get("user_agent")
    if agent is not None and (not isinstance(agent, str) or not agent.strip() or "\n" in agent):
        raise DiscoveryError(f"{where}: key 'overrides.user_agent' must be a one-line, non-empty string")
    size = table.get("max_bytes")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
        raise DiscoveryError(f"{where}: key 'overrides.max_bytes' must be a positive integer")
    robots = table.get("respect_robots")
    if robots is not None and not isinstance(robots, bool):
        raise DiscoveryError(f"{where}: key 'overrides.respect_robots' must be true or false")
    return Overrides(
        per_host_delay_s=float(delay) if delay is not None else None,
        user_agent=agent.strip() if agent is not None else None,
        max_bytes=size,
        respect_robots=robots,
    )
