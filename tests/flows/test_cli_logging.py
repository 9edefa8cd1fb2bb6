"""`copydesk dedup` run twice in one process logs each line once: the second run does not add a handler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.cli import main

TEXTS = [
    "The council approved the transit budget on Tuesday after a long debate about bus routes and repairs.",
    "The council approved the transit budget on Tuesday after a long debate about bus routes and repairs!",
    "Heavy rain is expected across the region this weekend, with flood warnings for low-lying areas.",
]


def test_dedup_twice_in_one_process_logs_each_line_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "docs.jsonl"
    source.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(TEXTS)))
    counts = []
    for run in range(3):
        assert main(["dedup", str(source), "--out", str(tmp_path / f"out{run}")]) == 0
        counts.append(capsys.readouterr().err.count("fingerprinted 3 docs"))
    assert counts == [1, 1, 1]
