"""Smaller guards: IPv6 forms that embed IPv4, links in `dir:` folders, one S3 endpoint, deployment
parameters that would widen what a worker does."""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from common.storage import s3_endpoint
from flows.exposure import widened
from ingest.discover import iter_pages
from ingest.netguard import AddressPolicy
from ingest.records import ErrorRecord, RawPage
from tests.hostile.hostile_inputs import article_html

REFUSED = [
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of the cloud metadata address
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
    "::127.0.0.1",  # IPv4-compatible
    "::10.0.0.1",
    "::ffff:0:a00:1",  # SIIT
    "::ffff:169.254.169.254",  # mapped
    "fec0::1",  # deprecated site-local
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo to 10.0.0.1
]


@pytest.mark.parametrize("address", REFUSED)
def test_ipv6_forms_of_inner_addresses_are_refused(address: str):
    assert AddressPolicy().why_refused(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "2606:4700::1111"])
def test_ipv6_forms_of_public_addresses_are_allowed(address: str):
    assert AddressPolicy().why_refused(ipaddress.ip_address(address)) is None


def test_a_dir_source_does_not_follow_links_out_or_around(tmp_path: Path):
    inside, outside = tmp_path / "in", tmp_path / "out"
    (inside / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.html").write_text(article_html("Secret"))
    (inside / "a.html").write_text(article_html("Kept", canonical="https://herald.example/a"))
    (inside / "sub" / "b.html").write_text(article_html("Also kept", canonical="https://herald.example/b"))
    os.symlink(outside, inside / "escape")
    os.symlink(outside / "secret.html", inside / "sub" / "leak.html")
    os.symlink(inside, inside / "sub" / "cycle")
    os.symlink(inside / "a.html", inside / "sub" / "alias.html")  # a link inside the folder: read
    items = list(iter_pages(f"dir:{inside}", run_id="h"))
    pages = sorted(i.ref.url for i in items if isinstance(i, RawPage))
    errors = sorted(i.url.rsplit("/", 1)[-1] for i in items if isinstance(i, ErrorRecord))
    assert pages == ["https://herald.example/a", "https://herald.example/b"]
    assert errors == ["a", "cycle", "escape", "leak.html"]  # "a": the alias, a second copy of a.html


def test_one_s3_endpoint_for_inputs_and_outputs(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://aws-variable:9000")
    monkeypatch.setenv("COPYDESK_S3_ENDPOINT_URL", "http://copydesk-setting:9000")
    assert s3_endpoint() == "http://copydesk-setting:9000"
    from flows.lease_store import S3LeaseStore, store_for

    store = store_for("s3://bucket/prefix")
    assert isinstance(store, S3LeaseStore)
    monkeypatch.delenv("COPYDESK_S3_ENDPOINT_URL")
    assert s3_endpoint() == "http://aws-variable:9000"


DEFAULTS = {
    "sources": ["feed:https://news.example/rss", "warc:/data/crawl.warc.gz"],
    "out": "s3://copydesk/data",
}


@pytest.mark.parametrize(
    ("parameters", "refused"),
    [
        ({"allow_loopback": True}, ["allow_loopback"]),
        ({"sources": ["urls:/etc/passwd"]}, ["source 'urls:/etc/passwd'"]),
        ({"sources": ["dir:/home"]}, ["source 'dir:/home'"]),
        ({"sources": ["feed:file:///etc/passwd"]}, ["source 'feed:file:///etc/passwd'"]),
        ({"sources_file": "/etc/shadow"}, ["sources_file '/etc/shadow'"]),
        ({"out": "/tmp/elsewhere"}, ["out '/tmp/elsewhere'"]),
        ({"report_dir": "/var/www"}, ["report_dir '/var/www'"]),
        ({"dask": "tcp://203.0.113.9:8786"}, ["dask 'tcp://203.0.113.9:8786'"]),
        ({"dask": "local:64"}, ["dask 'local:64'"]),
        ({"sources": ["feed:https://other.example/rss", "warc:s3://b/x.warc.gz"]}, []),
        ({"sources": ["warc:/data/crawl.warc.gz"], "out": "s3://copydesk/data"}, []),
    ],
)
def test_a_deployment_run_may_not_widen_its_parameters(parameters: dict[str, object], refused: list[str]):
    assert widened(parameters, DEFAULTS) == refused
    assert widened(parameters, DEFAULTS, trusted=True) == []


def test_reextract_reads_the_raw_store_it_is_given(tmp_path: Path):
    from common.storage import resolve
    from flows.reextract import reextract_task
    from ingest.archive import RawArchive
    from ingest.batch import ingest_pages
    from ingest.records import PageRef
    from ingest.tables import write_articles

    raw, out = tmp_path / "raw-store", tmp_path / "out"
    pages = [
        RawPage(
            ref=PageRef(url=f"https://herald.example/{i}", source="herald.example", discovered_from="t"),
            final_url=f"https://herald.example/{i}",
            status=200,
            headers={"content-type": "text/html"},
            body=article_html(f"Story {i}").encode(),
            fetched_at=datetime(2026, 3, 19, tzinfo=UTC),
        )
        for i in range(2)
    ]
    made = ingest_pages(pages, archive=RawArchive(resolve(str(raw))), run_id="first", workers=1)
    write_articles(made.articles, resolve(str(out)), file_stem="first")
    again = reextract_task.fn(str(out), run_id="again", workers=1, raw_store=str(raw))
    assert again.pages_read == 2 and again.articles == 2


def test_archiving_runs_out_of_the_fetch_event_loop(tmp_path: Path):
    import asyncio

    from common.storage import resolve
    from ingest.archive import RawArchive
    from ingest.batch import ingest_refs
    from ingest.fetch import FetchConfig
    from ingest.records import PageRef
    from tests.hostile.hostile_inputs import html, serve

    in_loop: list[bool] = []

    class Watched(RawArchive):
        def put(self, page: RawPage) -> str:
            try:
                asyncio.get_running_loop()
                in_loop.append(True)
            except RuntimeError:
                in_loop.append(False)
            return super().put(page)

    config = FetchConfig(per_host_delay_s=0.0, allow_loopback=True, respect_robots=False)
    routes = {f"/{i}": html(article_html(f"Story {i}")) for i in range(3)}
    with serve(routes) as server:
        refs = [PageRef(url=server.url(p), source="h", discovered_from="t") for p in routes]
        result = ingest_refs(
            refs, fetch_config=config, archive=Watched(resolve(str(tmp_path))), run_id="h", workers=1
        )
    assert len(result.articles) == 3
    assert in_loop == [False, False, False]


def test_the_flows_refuse_widened_parameters_in_a_deployment_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    import prefect.runtime.deployment as deployment

    from flows.backfill import backfill
    from flows.exposure import ParameterRefused, check_run_parameters
    from flows.pipeline import pipeline

    check_run_parameters({"allow_loopback": True})  # not a deployment run: not checked
    monkeypatch.setattr(deployment, "id", "d-1", raising=False)
    monkeypatch.setattr(deployment, "parameters", DEFAULTS, raising=False)
    with pytest.raises(ParameterRefused, match="urls:/etc/passwd"):
        pipeline.fn(["urls:/etc/passwd"], out="s3://copydesk/data")
    with pytest.raises(ParameterRefused, match="allow_loopback"):
        backfill.fn(DEFAULTS["sources"], date(2026, 3, 1), date(2026, 3, 2), allow_loopback=True)
    from flows.dask_flows import backfill_dask, dedup_table_dask
    from flows.recluster import dedup_range

    # A scheduler of the caller's choosing is refused before anything connects to it.
    elsewhere = "tcp://203.0.113.9:8786"
    with pytest.raises(ParameterRefused, match="dask"):
        backfill_dask.fn(DEFAULTS["sources"], date(2026, 3, 1), date(2026, 3, 2), dask=elsewhere)
    with pytest.raises(ParameterRefused, match="dask"):
        dedup_table_dask.fn("s3://copydesk/in.parquet", out="s3://copydesk/data", dask=elsewhere)
    with pytest.raises(ParameterRefused, match="dask"):
        dedup_range.fn(date(2026, 3, 1), date(2026, 3, 2), out="s3://copydesk/data", dask=elsewhere)
    monkeypatch.setenv("COPYDESK_TRUST_RUN_PARAMETERS", "true")
    check_run_parameters({"allow_loopback": True, "sources": ["urls:/etc/passwd"], "dask": elsewhere})


def test_a_saved_page_dated_in_year_9999_is_taken_as_fetched_now(tmp_path: Path):
    page = tmp_path / "a.html"
    page.write_text(article_html("Far future", canonical="https://herald.example/far"))
    far = datetime(9999, 12, 31, tzinfo=UTC).timestamp()
    os.utime(page, (far, far))
    [item] = list(iter_pages(f"dir:{tmp_path}", run_id="h"))
    assert isinstance(item, RawPage) and item.fetched_at.year < 2100
