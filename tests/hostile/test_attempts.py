"""An error Copydesk does not know (a LookupError from a library, an OverflowError) is retried in
at most `DEFAULT_MAX_ATTEMPTS` runs, counted per URL in state/, then final: its feed settles."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.storage import StorageRefused, StorageUnavailable, _translate, resolve
from ingest.attempts import DEFAULT_MAX_ATTEMPTS, is_unknown, load_attempts, save_attempts
from ingest.decode import codec_for, decode_html
from ingest.plan import is_final, settled_documents
from ingest.records import ErrorRecord, PageRef
from ingest.state import DocumentState

FEED = "https://herald.example/rss"
PAGE = "https://herald.example/a"


def _row(kind: str, url: str = PAGE) -> ErrorRecord:
    return ErrorRecord(url, "herald", "extract", kind, "boom", "r", datetime(2026, 3, 19, tzinfo=UTC))


def test_an_unknown_error_settles_its_feed_after_some_runs(tmp_path: Path):
    root = resolve(str(tmp_path))
    refs = [PageRef(url=PAGE, source="herald", discovered_from=FEED)]
    update = {FEED: DocumentState(url=FEED, content_hash="h")}
    settled = []
    for _run in range(DEFAULT_MAX_ATTEMPTS + 1):
        attempts = load_attempts(root)  # a new process each run: the count lives in state/
        rows = attempts.record([_row("LookupError")])
        save_attempts(attempts, root)
        settled.append(bool(settled_documents(update, refs, rows)))
    assert settled == [False] * (DEFAULT_MAX_ATTEMPTS - 1) + [True, True]
    assert rows[0].kind == "GaveUp" and "LookupError" in rows[0].message and is_final(rows[0])


def test_known_errors_are_not_counted_and_success_forgets(tmp_path: Path):
    root = resolve(str(tmp_path))
    attempts = load_attempts(root)
    assert attempts.record([_row("FetchUnavailable"), _row("NoArticle")])[0].kind == "FetchUnavailable"
    assert not attempts.counts
    attempts.record([_row("OverflowError")])
    attempts.forget([PAGE])
    assert not attempts.counts


@pytest.mark.parametrize(
    "kind", ["LookupError", "OverflowError", "KeyError", "BrokenProcessPool", "CrashedRun"]
)
def test_foreign_kinds_are_unknown(kind: str):
    assert is_unknown(kind)


@pytest.mark.parametrize("kind", ["FetchUnavailable", "Refused", "NoArticle", "StorageUnavailable", "GaveUp"])
def test_copydesk_kinds_are_known(kind: str):
    assert not is_unknown(kind)


@pytest.mark.parametrize("label", ["base64", "rot13", "zlib_codec", "hex", "bz2", "uu", "quopri"])
def test_a_meta_charset_naming_no_text_codec_is_ignored(label: str):
    assert codec_for(label) is None
    body = f'<html><head><meta charset="{label}"></head><body><p>Caf\u00e9</p></body></html>'.encode()
    text, codec = decode_html(body)
    assert "Caf\u00e9" in text and codec == "utf-8"


def test_store_errors_are_not_classified_by_a_number_in_a_file_name():
    name = "cannot write s3://b/articles/date=2026-03-19/batch-4034041f403a404c.parquet: connection reset"
    assert isinstance(_translate(OSError(name), "write"), StorageUnavailable)
    assert isinstance(_translate(OSError("AWS Error ACCESS_DENIED during PutObject"), "w"), StorageRefused)
    assert isinstance(
        _translate(OSError("AWS Error UNKNOWN (HTTP status 404) during HeadObject"), "w"), StorageRefused
    )


@pytest.mark.parametrize("kind", ["BadRecord", "BadFeed", "Refused", "GaveUp", "NotHtml"])
def test_rows_of_bad_input_are_final(kind: str):
    assert is_final(_row(kind))
