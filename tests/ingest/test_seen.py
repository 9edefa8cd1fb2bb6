"""The record of URLs already ingested: courlan's normalisation, hashes in Parquet under state/."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.storage import resolve
from ingest import seen as seen_module
from ingest.seen import SeenUrls, load_seen_urls, save_seen_urls, url_key


@pytest.mark.parametrize(
    ("variant", "plain"),
    [
        ("https://news.example/a/b?utm_source=rss&utm_medium=feed", "https://news.example/a/b"),
        ("HTTP://News.Example:80/a/b#comments", "https://news.example/a/b"),
        ("https://news.example/a?id=3&fbclid=XYZ", "https://news.example/a?id=3"),
        ("https://news.example/a?b=2&a=1", "https://news.example/a?a=1&b=2"),
    ],
)
def test_variants_of_one_article_share_a_key(variant: str, plain: str) -> None:
    assert url_key(variant) == url_key(plain)
    record = SeenUrls()
    record.add([plain])
    assert variant in record


def test_other_pages_keep_other_keys() -> None:
    assert url_key("https://news.example/a?id=3") != url_key("https://news.example/a?id=4")
    assert url_key("https://news.example/a") != url_key("https://news.example/b")
    assert "" not in SeenUrls() and "not a url" not in SeenUrls()


def test_record_round_trips_and_folds_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = resolve(str(tmp_path))
    assert len(load_seen_urls(root)) == 0
    record = SeenUrls()
    assert save_seen_urls(record, root) is None  # nothing new, nothing written
    record.add(["https://a.example/1", None, "https://a.example/2"])
    uri = save_seen_urls(record, root)
    assert uri is not None and "/state/seen_urls/run-" in uri
    assert save_seen_urls(record, root) == uri  # the same URLs again replace the same file
    back = load_seen_urls(root)
    assert len(back) == 2 and "https://a.example/1?utm_source=x" in back and "https://a.example/3" not in back

    monkeypatch.setattr(seen_module, "COMPACT_AFTER", 3)
    for i in range(3, 7):
        more = load_seen_urls(root)
        more.add([f"https://a.example/{i}"])
        save_seen_urls(more, root)
    files = sorted(p.name for p in (tmp_path / "state" / "seen_urls").iterdir())
    assert len(files) <= 3 and any(f.startswith("all-") for f in files)
    final = load_seen_urls(root)
    assert len(final) == 6 and all(f"https://a.example/{i}" in final for i in range(1, 7))
