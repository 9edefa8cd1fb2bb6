"""The pipeline's plain helpers, without Prefect running."""

from __future__ import annotations

from types import SimpleNamespace

from common.errors import PermanentError, TransientError
from flows.tasks import failure_rows, file_stem, retry_if_transient
from ingest.errors import FetchUnavailable, HttpStatusError


def test_file_stem_depends_only_on_the_set_of_keys() -> None:
    assert file_stem("batch", ["b", "a"]) == file_stem("batch", ["a", "b"])
    assert file_stem("batch", ["a"]) != file_stem("batch", ["a", "b"])
    assert file_stem("run", ["a"]).startswith("run-")


def failed(exc: BaseException) -> SimpleNamespace:
    return SimpleNamespace(result=lambda raise_on_failure=True: exc)


def test_retry_only_transient_failures() -> None:
    assert retry_if_transient(None, None, failed(FetchUnavailable("timeout")))
    assert not retry_if_transient(None, None, failed(HttpStatusError("404")))
    assert not retry_if_transient(None, None, failed(ValueError("a bug")))
    wrapped = PermanentError("gave up")
    wrapped.__cause__ = TransientError("net")
    assert not retry_if_transient(None, None, failed(wrapped))
    chained = RuntimeError("store wrapper")
    chained.__cause__ = TransientError("throttled")  # as `raise ... from` sets it
    assert retry_if_transient(None, None, failed(chained))


def test_failure_rows_keep_every_input() -> None:
    rows = failure_rows(
        [("https://example.org/a", "example.org"), ("https://example.org/b", "example.org")],
        "fetch",
        FetchUnavailable("store down"),
        run_id="r1",
    )
    assert [(r.url, r.stage, r.kind, r.run_id) for r in rows] == [
        ("https://example.org/a", "fetch", "FetchUnavailable", "r1"),
        ("https://example.org/b", "fetch", "FetchUnavailable", "r1"),
    ]


def test_retries_back_off_exponentially_and_only_on_transient_errors() -> None:
    from flows.runtime import retrying
    from flows.settings import Settings
    from flows.tasks import known_articles

    task = retrying(known_articles, Settings(task_retries=3, task_retry_delay_s=2.0))
    assert task.retries == 3 and task.retry_delay_seconds == [2.0, 4.0, 8.0]
    assert task.retry_jitter_factor == 0.2 and task.retry_condition_fn is retry_if_transient
    assert retrying(known_articles, Settings(task_retries=0)).retries == 0
