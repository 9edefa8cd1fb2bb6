"""The sources file: publishers, their feeds and sitemaps, priority and fetch overrides; one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.config import Overrides, load_sources
from ingest.errors import DiscoveryError
from ingest.fetch import FetchConfig
from ingest.sources import SourceSpec

GOOD = """
[[publisher]]
name = "Harbor Herald"
feeds = ["https://herald.example/rss.xml", "https://herald.example/atom.xml"]
sitemaps = ["https://herald.example/news-sitemap.xml"]
priority = 10

[publisher.overrides]
per_host_delay_s = 2
user_agent = "Copydesk/0.1 (+https://newsroom.example/bot)"
max_bytes = 8_000_000
respect_robots = false

[[publisher]]
name = "Valley Ledger"
sitemaps = ["s3://archive/ledger/sitemap.xml.gz"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_publishers_and_their_settings(tmp_path: Path):
    herald, ledger = load_sources(write(tmp_path, GOOD))
    assert herald.name == "Harbor Herald" and herald.priority == 10
    assert herald.sources() == [
        SourceSpec("feed", "https://herald.example/rss.xml"),
        SourceSpec("feed", "https://herald.example/atom.xml"),
        SourceSpec("sitemap", "https://herald.example/news-sitemap.xml"),
    ]
    base = FetchConfig(per_host_delay_s=1.0, user_agent="Base/1", max_bytes=100)
    tuned = herald.fetch_config(base)
    assert (tuned.per_host_delay_s, tuned.user_agent, tuned.max_bytes, tuned.respect_robots) == (
        2.0,
        "Copydesk/0.1 (+https://newsroom.example/bot)",
        8_000_000,
        False,
    )
    assert tuned.timeout_s == base.timeout_s
    assert ledger.priority == 0 and ledger.feeds == () and ledger.overrides == Overrides()
    assert ledger.fetch_config(base) == base


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[publisher]]\nname = 'A'\nfeeds = [", "not valid TOML"),
        (
            "[[publisher]]\nname = 'A'\nfeeds = ['https://a.example/rss']\ncolour = 'red'",
            "unknown key 'colour'",
        ),
        ("[[publisher]]\nfeeds = ['https://a.example/rss']", "key 'name'"),
        ("[[publisher]]\nname = 'A'", "at least one of 'feeds' or 'sitemaps'"),
        ("[[publisher]]\nname = 'A'\nfeeds = 'https://a.example/rss'", "key 'feeds' must be a list"),
        ("[[publisher]]\nname = 'A'\nfeeds = ['ftp://a.example/rss']", "feeds[0]"),
        ("[[publisher]]\nname = 'A'\nfeeds = ['https://a.example/rss']\npriority = 'high'", "key 'priority'"),
        (
            "[[publisher]]\nname = 'A'\nfeeds = ['https://a.example/rss']\n[publisher.overrides]\ndelay = 1",
            "unknown key 'overrides.delay'",
        ),
        (
            "[[publisher]]\nname = 'A'\nfeeds = ['https://a.example/rss']\n"
            "[publisher.overrides]\nper_host_delay_s = -1",
            "overrides.per_host_delay_s",
        ),
        (
            "[[publisher]]\nname = 'A'\nfeeds = ['https://a.example/rss']\n"
            "[publisher.overrides]\nrespect_robots = 'no'",
            "overrides.respect_robots",
        ),
        (
            "[[publisher]]\nname = 'A'\nfeeds = ['https://a.example/rss']\n"
            "[[publisher]]\nname = 'a'\nfeeds = ['https://b.example/rss']",
            "publisher #2 (a): name 'a' is given twice",
        ),
        ("title = 'x'", "unknown key 'title'"),
        ("", "no [[publisher]] tables"),
    ],
)
def test_mistakes_are_one_line_errors_naming_file_and_key(tmp_path: Path, text: str, message: str):
    path = write(tmp_path, text)
    with pytest.raises(DiscoveryError) as info:
        load_sources(path)
    text_of_error = str(info.value)
    assert text_of_error.startswith(f"{path}: ")
    assert message in text_of_error
    assert "\n" not in text_of_error


def test_missing_file(tmp_path: Path):
    with pytest.raises(DiscoveryError, match="cannot read the sources file"):
        load_sources(tmp_path / "nope.toml")
