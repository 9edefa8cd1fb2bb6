from __future__ import annotations

import gzip
import os
from datetime import UTC, datetime
from pathlib import Path

from ingest.archive import RawArchive
from ingest.batch import ingest_pages
from ingest.discover import iter_pages
from ingest.records import ErrorRecord, RawPage
from tests.ingest.ingest_helpers import STORY, article_html


def test_saved_pages_folder(tmp_path: Path):
    folder = tmp_path / "saved"
    (folder / "2026").mkdir(parents=True)
    canonical = folder / "2026" / "ferry.html"
    canonical.write_text(
        article_html("Ferry", canonical="https://www.herald.example/ferry"), encoding="utf-8"
    )
    plain = folder / "pier.htm"
    plain.write_bytes(article_html("Pier", STORY[::-1], charset="windows-1252").encode("cp1252"))
    (folder / "budget.html.gz").write_bytes(gzip.compress(article_html("Budget", STORY[1:]).encode()))
    (folder / "broken.html.gz").write_bytes(b"\x1f\x8b\x08\x00not gzip at all")
    (folder / "notes.txt").write_text("not a page")
    when = datetime(2026, 3, 18, 7, 0, tzinfo=UTC).timestamp()
    os.utime(plain, (when, when))

    items = list(iter_pages(f"dir:{folder}", run_id="r"))
    pages = {Path(p.raw_uri or "").name: p for p in items if isinstance(p, RawPage)}
    errors = [i for i in items if isinstance(i, ErrorRecord)]
    assert set(pages) == {"ferry.html", "pier.htm", "budget.html.gz"}
    assert pages["ferry.html"].ref.url == "https://www.herald.example/ferry"
    assert pages["ferry.html"].ref.source == "herald.example"
    assert pages["pier.htm"].ref.url == plain.as_uri()
    assert pages["pier.htm"].ref.source == "local"
    assert pages["pier.htm"].fetched_at == datetime(2026, 3, 18, 7, 0, tzinfo=UTC)
    assert [(e.stage, e.kind) for e in errors] == [("discover", "DiscoveryError")]
    assert errors[0].url.endswith("broken.html.gz")

    result = ingest_pages(list(pages.values()), archive=RawArchive.at(str(tmp_path / "out")), run_id="r")
    assert sorted(a.title or "" for a in result.articles) == ["Budget", "Ferry", "Pier"]
    assert result.errors == []


def test_missing_folder_is_an_error(tmp_path: Path):
    [item] = list(iter_pages(f"dir:{tmp_path / 'nope'}", run_id="r"))
    assert isinstance(item, ErrorRecord) and (item.stage, item.kind) == ("discover", "DiscoveryError")
