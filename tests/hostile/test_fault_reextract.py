"""`reextract` keeps the row of an article whose raw page cannot be read right now (a store that
answers 503 for it, through the fault proxy in front of moto) and records why."""

from __future__ import annotations

import pyarrow.compute as pc

from common.storage import read_dataset, resolve
from ingest.archive import RawArchive
from ingest.batch import ingest_refs
from ingest.fetch import FetchConfig
from ingest.records import PageRef
from ingest.reextract import reextract
from ingest.tables import write_articles
from ingest.urls import source_for
from tests.flows.local_site import Route, Serving, page_html, story
from tests.hostile.fault_proxy import Fault, FaultProxy
from tests.hostile.state_helpers import proxy
from tests.s3_server import new_bucket

__all__ = ["proxy"]

CONFIG = FetchConfig(
    user_agent="CopydeskTest/1.0",
    timeout_s=2.0,
    per_host_delay_s=0.0,
    allow_loopback=True,
    retry_backoff_s=0.05,
    max_retry_after_s=1.0,
)


def test_a_raw_page_the_store_cannot_serve_now_keeps_its_article(
    moto_endpoint: str, proxy: FaultProxy
) -> None:
    out = f"s3://{new_bucket(moto_endpoint)}/news"
    direct = resolve(out, endpoint_url=moto_endpoint)
    with Serving() as site:
        for n in range(3):
            site.routes[f"/a/{n}"] = Route(
                page_html(f"Story {n}", story(n + 10), published="2026-03-02T08:00:00Z")
            )
        refs = [
            PageRef(url=site.url(f"/a/{n}"), source=source_for(site.url("/")), discovered_from="t")
            for n in range(3)
        ]
        made = ingest_refs(refs, fetch_config=CONFIG, archive=RawArchive(direct), run_id="r1", workers=1)
    assert len(made.articles) == 3
    write_articles(made.articles, direct, file_stem="batch-one")
    before = read_dataset(direct.child("articles"))
    assert before is not None
    down = made.articles[1]
    key = str(down.raw_uri).removeprefix("s3://").split("/", 1)[1]
    proxy.inject(Fault("503", path=key, times=-1))

    result = reextract(resolve(out, endpoint_url=proxy.endpoint), run_id="re", workers=1)

    assert any(kind == "503" for _, target, kind in proxy.log if key in target)
    assert len(result.articles) == 2
    assert [(e.url, e.stage) for e in result.errors] == [(down.raw_uri, "archive")]
    after = read_dataset(direct.child("articles"))
    assert after is not None and after.num_rows == 3
    kept = after.filter(pc.equal(after["article_id"], down.article_id))
    assert kept["text"].to_pylist() == [down.text]
    errors = read_dataset(direct.child("errors"))
    assert errors is not None and errors["url"].to_pylist() == [down.raw_uri]
