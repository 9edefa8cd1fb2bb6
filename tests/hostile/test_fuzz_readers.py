"""Property-based fuzzing of the readers of untrusted input: feeds, sitemaps, WARC files, content
codings, dates and `copydesk dedup` inputs. No exception may escape but the documented one-line
errors (`BadFeed`, `Refused`, `InputError`...), and a reader that yields must yield what it says.

Examples are bounded (and derandomised, so a run is repeatable); `deadline=None` because the
machine is shared and slow examples are not failures.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.errors import InputError
from ingest.coding import BodyDecoder
from ingest.discover import iter_pages
from ingest.errors import BadFeed, Refused
from ingest.feeds import Parsed, parse_feed
from ingest.records import ErrorRecord, RawPage
from ingest.sitemaps import parse_sitemap
from ingest.timeutil import parse_datetime
from tests.hostile.hostile_inputs import article_html, gz_members, gzip_bytes, warc_record

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    b"<item><title>One</title><link>https://a.example/1</link>"
    b"<pubDate>Thu, 19 Mar 2026 11:00:00 GMT</pubDate>"
    b"</item><item><title>Two</title><link>https://a.example/2</link></item></channel></rss>"
)
SITEMAP = (
    b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    b"<url><loc>https://a.example/1</loc><lastmod>2026-03-19</lastmod></url>"
    b"<url><loc>https://a.example/2</loc></url></urlset>"
)
INDEX = (
    b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    b"<sitemap><loc>https://a.example/s1.xml</loc><lastmod>9999-12-31T23:00:00-05:00</lastmod></sitemap>"
    b"</sitemapindex>"
)

TAGS = [
    "rss",
    "channel",
    "item",
    "link",
    "title",
    "pubDate",
    "guid",
    "feed",
    "entry",
    "published",
    "urlset",
    "url",
    "loc",
    "lastmod",
    "sitemapindex",
    "sitemap",
    "news:news",
    "news:publication_date",
    "!DOCTYPE x",
    "!ENTITY a 'b'",
    "?xml version='1.0'?",
    "![CDATA[",
]
TEXTS = [
    "https://a.example/x",
    "javascript:alert(1)",
    "9999-12-31T23:00:00-05:00",
    "0001-01-01",
    "&amp;",
    "&lol;",
    "\x00",
    "\ud7ff",
    "2026-03-19",
    "Fri, 31 Dec 9999 23:59:59 -1200",
    "]]>",
    "<",
    "x" * 300,
]


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """`base` with a few bytes flipped, cut, doubled or spliced, maybe gzipped."""
    data = bytearray(base)
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(TEXTS)).encode("utf-8", "surrogatepass")
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 60))]
    out = bytes(data)
    return gzip_bytes(out) if draw(st.booleans()) and draw(st.booleans()) else out


@st.composite
def tag_soup(draw: st.DrawFn) -> bytes:
    parts = []
    for _ in range(draw(st.integers(1, 40))):
        if draw(st.booleans()):
            tag = draw(st.sampled_from(TAGS))
            parts.append(f"<{tag}>" if draw(st.booleans()) else f"</{tag.split()[0]}>")
        else:
            parts.append(draw(st.sampled_from(TEXTS)))
    return "".join(parts).encode("utf-8", "surrogatepass")


DOCUMENTS = st.one_of(st.binary(max_size=2000), tag_soup(), mutated(FEED), mutated(SITEMAP), mutated(INDEX))


def _check(parsed: Parsed) -> None:
    for ref in parsed.refs:
        assert ref.url.startswith(("http://", "https://"))
        assert ref.published_at is None or 1990 <= ref.published_at.year <= 2100
    for _, when in parsed.children:
        assert when is None or when.tzinfo is not None


@FUZZ
@given(DOCUMENTS)
def test_feeds_give_refs_or_bad_feed(data: bytes):
    with contextlib.suppress(BadFeed):
        _check(parse_feed(data, url="https://a.example/rss"))


@FUZZ
@given(DOCUMENTS)
def test_sitemaps_give_refs_or_bad_feed(data: bytes):
    with contextlib.suppress(BadFeed):
        _check(parse_sitemap(data, url="https://a.example/sitemap.xml"))


@st.composite
def warc_files(draw: st.DrawFn) -> bytes:
    records = []
    for i in range(draw(st.integers(1, 4))):
        url = draw(st.sampled_from([f"https://a.example/{i}", None, "dns:x", "", "http://[::1"]))
        head = draw(
            st.sampled_from(
                [
                    None,
                    b"",
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n",
                    b"HTTP/1.1 abc\r\n\r\n",
                    b"\xff\xfe\r\n",
                ]
            )
        )
        length = draw(st.sampled_from([None, None, "0", "-1", "x", "99999999"]))
        date = draw(st.sampled_from(["2026-03-19T12:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01", "junk"]))
        records.append(
            warc_record(url=url, body=article_html().encode(), http_head=head, length=length, date=date)
        )
    data = gz_members(*records) if draw(st.booleans()) else b"".join(records)
    return draw(mutated(data)) if draw(st.booleans()) else data


@FUZZ
@given(warc_files())
def test_warc_files_give_pages_and_error_rows(data: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.warc.gz"
        path.write_bytes(data)
        for item in iter_pages(f"warc:{path}", run_id="fuzz"):
            assert isinstance(item, RawPage | ErrorRecord)
            if isinstance(item, RawPage):
                assert item.ref.url.startswith(("http://", "https://"))
                assert item.fetched_at.tzinfo is not None and item.fetched_at.year < 3000


CODINGS = st.sampled_from(
    ["", "gzip", "x-gzip", "deflate", "identity", "gzip, gzip", "br", "GZIP", " gzip ", "gzip,", "zstd"]
)


@FUZZ
@given(
    CODINGS,
    st.one_of(st.binary(max_size=3000), mutated(gzip_bytes(article_html().encode()))),
    st.integers(1, 5000),
)
def test_content_decoding_is_capped_or_refused(coding: str, body: bytes, cap: int):
    try:
        decoder = BodyDecoder(coding, max_bytes=cap, what="u")
        out = b"".join(decoder.feed(body[i : i + 100]) for i in range(0, len(body), 100))
        decoder.finish()
    except Refused:
        return
    assert len(out) <= cap


@FUZZ
@given(
    st.one_of(
        st.text(max_size=60),
        st.sampled_from(TEXTS),
        st.from_regex(r"[0-9]{1,5}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-][0-9]{2}:[0-9]{2}"),
    )
)
def test_dates_parse_to_sane_values_or_none(text: str):
    for plausible in (True, False):
        when = parse_datetime(text, plausible=plausible)
        assert when is None or (
            isinstance(when, datetime) and when.tzinfo is not None and 1970 <= when.year <= 2100
        )


@st.composite
def jsonl(draw: st.DrawFn) -> bytes:
    values = st.one_of(
        st.none(),
        st.integers(-(2**70), 2**70),
        st.text(max_size=30),
        st.sampled_from(TEXTS),
        st.floats(allow_nan=True),
    )
    lines = []
    for i in range(draw(st.integers(1, 6))):
        row = {
            "id": draw(st.one_of(st.just(f"d{i}"), values)),
            "text": draw(st.one_of(st.just("some text here"), values)),
        }
        for column in ("published_at", "fetched_at", "source_priority", "url", "title"):
            if draw(st.booleans()):
                row[column] = draw(values)
        lines.append(json.dumps(row))
    data = "\n".join(lines).encode()
    return draw(mutated(data)) if draw(st.booleans()) else data


@FUZZ
@given(jsonl())
def test_dedup_inputs_load_or_say_why_in_one_line(data: bytes):
    from dedup.inputs import load_docs

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.jsonl"
        path.write_bytes(data)
        try:
            docs = load_docs(str(path))
        except InputError as exc:
            message = str(exc).strip()
            docs = []
        else:
            message = "ok"
    assert message and "\n" not in message
    for doc in docs:
        assert isinstance(doc.id, str) and isinstance(doc.text, str)


def test_fuzz_inputs_are_built_here():
    assert io.BytesIO(FEED).read(5) == b"<?xml"
