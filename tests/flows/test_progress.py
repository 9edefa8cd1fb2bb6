"""Progress on long work: stages report through common.progress; a terminal shows rich bars with
counts, rate and ETA, anything else gets plain log lines (flows.progress_display)."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from common import progress
from flows.progress_display import LogReporter, RichReporter, display


def test_a_terminal_shows_a_bar_per_stage_with_counts() -> None:
    from rich.console import Console

    out = io.StringIO()
    reporter = RichReporter(Console(file=out, force_terminal=True, width=120))
    with reporter.bar, progress.use(reporter):
        with progress.stage("fingerprint", total=200) as step:
            step.advance(150)
            step.advance(50)
        progress.advance("verify", 7)  # never started: counted without a total
        progress.finish("verify")
        progress.start("fetch", total=0)  # nothing planned: pages read from a WARC count as they come
        progress.advance("fetch", 5)
        reporter.finish_all()  # a stage that never said it ended stops at what it counted
    shown = out.getvalue()
    assert "fingerprint" in shown and "200/200" in shown
    assert "verify" in shown and "7/7" in shown
    assert "5/5" in shown and "5/0" not in shown
    assert "━" in shown  # the bar itself


def test_plain_lines_give_count_total_and_rate(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("flows.progress.test")
    with (
        caplog.at_level(logging.INFO, logger="flows.progress.test"),
        progress.use(LogReporter(logger, every_s=0)),
    ):
        progress.start("extract", total=10)
        progress.start("extract", total=10)  # a second batch raises the total
        progress.advance("extract", 4)
        progress.finish("extract")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("extract: 4/20 (")
    assert lines[-1].startswith("extract: done, 4 items in ")


def test_the_default_shows_nothing_and_a_broken_display_never_stops_the_work(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert isinstance(progress.current(), progress.NullReporter)

    class Broken(progress.NullReporter):
        def advance(self, stage: str, n: int) -> None:
            raise RuntimeError("display gone")

    with caplog.at_level(logging.WARNING, logger="common.progress"), progress.use(Broken()):
        progress.advance("read", 3)
        progress.advance("read", 3)
    assert [r.getMessage() for r in caplog.records] == [
        "progress display failed; the work goes on without it"
    ]
    assert isinstance(progress.current(), progress.NullReporter)


def test_display_picks_plain_lines_when_stderr_is_not_a_terminal() -> None:
    with display(io.StringIO()) as reporter:
        assert isinstance(reporter, LogReporter)
        assert progress.current() is reporter


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.corpora.planted import planted_corpus

    path = tmp_path_factory.mktemp("progress") / "texts.jsonl"
    docs = planted_corpus(150, seed=3).docs
    with path.open("w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"id": d.id, "text": d.text, "source": d.source}) + "\n")
    return path


def _dedup_command(corpus: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "flows", "dedup", str(corpus), "--out", str(out)]


def test_copydesk_dedup_on_a_terminal_draws_the_stages(corpus: Path, tmp_path: Path) -> None:
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    proc = subprocess.Popen(
        _dedup_command(corpus, tmp_path / "out"), stdout=subprocess.DEVNULL, stderr=slave, env=env
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(timeout=120) == 0
    shown = seen.decode("utf-8", "replace")
    for stage in ("read", "fingerprint", "match", "verify", "write"):
        assert stage in shown, stage
    assert "━" in shown and "\x1b[" in shown  # a bar, drawn with terminal codes


def test_copydesk_dedup_in_a_pipe_writes_plain_lines(corpus: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        _dedup_command(corpus, tmp_path / "out"), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    for stage in ("read", "fingerprint", "match", "verify", "write"):
        assert f"{stage}: done, " in done.stderr, stage
    assert "\x1b[" not in done.stderr and "━" not in done.stderr
