"""Conditional GET of feeds and sitemaps: ETag / Last-Modified sent back, 304 or same content -> no refs."""

from __future__ import annotations

from pathlib import Path

from common.storage import resolve
from ingest.discover import discover_refs
from ingest.fetch import FetchConfig
from ingest.state import DocumentState, FetchState, load_fetch_state, save_fetch_state
from tests.ingest.ingest_helpers import Site


def sent(site: Site, path: str) -> list[dict[str, str]]:
    return [headers for p, headers in site.requests if p == path]


def test_etag_then_304_yields_no_refs(site: Site, fetch_config: FetchConfig, tmp_path: Path):
    root = resolve(str(tmp_path / "out"))
    state = load_fetch_state(root)
    assert len(state) == 0
    url = site.url("/cond/etag.xml")
    first = discover_refs(f"feed:{url}", fetch_config=fetch_config, run_id="r", state=state)
    assert len(first.refs) == 2 and first.unchanged == 0
    assert state.get(url) is not None and state.get(url).etag == '"v1"'
    save_fetch_state(state, root)

    again = discover_refs(f"feed:{url}", fetch_config=fetch_config, run_id="r", state=load_fetch_state(root))
    assert again.refs == [] and again.errors == [] and again.unchanged == 1
    assert sent(site, "/cond/etag.xml")[-1].get("if-none-match") == '"v1"'
    # without a state nothing is sent, and everything is found again
    plain = discover_refs(f"feed:{url}", fetch_config=fetch_config, run_id="r")
    assert len(plain.refs) == 2 and "if-none-match" not in sent(site, "/cond/etag.xml")[-1]


def test_unchanged_sitemap_index_still_checks_its_children(site: Site, fetch_config: FetchConfig):
    state = FetchState()
    url = site.url("/cond/index.xml")
    first = discover_refs(f"sitemap:{url}", fetch_config=fetch_config, run_id="r", state=state)
    assert len(first.refs) == 2 and first.documents == 2
    again = discover_refs(f"sitemap:{url}", fetch_config=fetch_config, run_id="r", state=state)
    assert again.refs == [] and again.documents == 2 and again.unchanged == 2
    assert sent(site, "/cond/index.xml")[-1]["if-modified-since"] == "Thu, 19 Mar 2026 12:00:00 GMT"
    assert sent(site, "/cond/news.xml")[-1]["if-none-match"] == 'W/"news-1"'


def test_same_content_without_validators_is_unchanged_and_new_content_is_read(
    site: Site, fetch_config: FetchConfig
):
    state = FetchState()
    url = site.url("/cond/changing.xml")
    hits = site.hits["/cond/changing.xml"]
    assert hits == 0, "this test counts the route's requests from the first"
    assert len(discover_refs(f"feed:{url}", fetch_config=fetch_config, run_id="r", state=state).refs) == 2
    same = discover_refs(f"feed:{url}", fetch_config=fetch_config, run_id="r", state=state)
    assert same.refs == [] and same.unchanged == 1
    changed = discover_refs(f"feed:{url}", fetch_config=fetch_config, run_id="r", state=state)
    assert changed.unchanged == 0 and any("ferry-2" in r.url for r in changed.refs)


def test_state_round_trips_through_parquet(tmp_path: Path):
    root = resolve(str(tmp_path))
    state = FetchState()
    state.put(DocumentState("https://a.example/feed", etag='"x"', content_hash="ab", children=[]))
    state.put(
        DocumentState(
            "https://A.example/index.xml", last_modified="Thu", children=["https://a.example/1.xml"]
        )
    )
    uri = save_fetch_state(state, root)
    assert uri.endswith("state/http_cache.parquet")
    back = load_fetch_state(root)
    assert back.get("https://a.example/index.xml").children == ["https://a.example/1.xml"]
    assert back.get("https://a.example/feed").etag == '"x"'
    (tmp_path / "state" / "http_cache.parquet").write_bytes(b"not parquet")
    assert len(load_fetch_state(root)) == 0  # a damaged state only costs a full read
