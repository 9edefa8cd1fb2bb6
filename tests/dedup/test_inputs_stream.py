"""JSONL inputs are read in bounded blocks of whole lines, and a gzip bomb is refused early."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from dedup import jsonl
from dedup.errors import InputError
from dedup.inputs import iter_text_batches, load_docs
from dedup.jsonl import jsonl_blocks


def rows(n: int) -> list[dict]:
    return [
        {"id": f"r{i}", "text": f"Story number {i} " + "word " * (i % 37), "published_at": "2024-05-01"}
        for i in range(n)
    ]


def write(path: Path, data: list[dict], *, gz: bool = False) -> Path:
    raw = "".join(json.dumps(r) + "\n" for r in data).encode()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_small_blocks_read_every_row_once_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gz: bool
) -> None:
    path = write(tmp_path / ("in.jsonl.gz" if gz else "in.jsonl"), rows(500), gz=gz)
    monkeypatch.setattr(jsonl, "BLOCK_BYTES", 997)  # cuts lines in the middle, many blocks
    blocks = list(jsonl_blocks(pafs.LocalFileSystem(), str(path)))
    assert len(blocks) > 20
    longest = max(len(json.dumps(r)) + 1 for r in rows(500))
    assert max(len(b) for b, _ in blocks) <= 997 + longest  # one block and the line it cut, no more
    assert b"".join(b for b, _ in blocks) == (gzip.decompress(path.read_bytes()) if gz else path.read_bytes())
    batches = list(iter_text_batches(str(path), batch_rows=64))
    assert [len(d) for d, _ in batches] == [64] * 7 + [52]
    ids = [d.id for docs, _ in batches for d in docs]
    assert ids == [f"r{i}" for i in range(500)]
    texts = [t for _, col in batches for t in col.to_pylist()]
    assert texts == [r["text"] for r in rows(500)]


def test_bad_line_is_named_by_its_number_in_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = "".join(json.dumps(r) + "\n" for r in rows(300)) + "{not json\n" + json.dumps(rows(1)[0]) + "\n"
    (tmp_path / "in.jsonl").write_text(data)
    monkeypatch.setattr(jsonl, "BLOCK_BYTES", 1500)
    with pytest.raises(InputError, match="line 301 is not valid JSON"):
        load_docs(str(tmp_path / "in.jsonl"))


def test_a_line_over_the_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    long = {"id": "big", "text": "x" * 5000}
    write(tmp_path / "in.jsonl", [*rows(3), long, *rows(2)[1:]])
    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 4096)
    monkeypatch.setattr(jsonl, "BLOCK_BYTES", 1000)
    with pytest.raises(InputError, match="line 4 is longer than"):
        load_docs(str(tmp_path / "in.jsonl"))


def test_lines_longer_than_pyarrows_block_are_read(tmp_path: Path) -> None:
    """pyarrow's JSON reader fails on a line longer than its 1 MB block: the block is read again whole."""
    data = [{"id": "a", "text": "long " * 300_000}, {"id": "b", "text": "short"}]
    docs = load_docs(str(write(tmp_path / "in.jsonl", data)))
    assert [len(d.text) for d in docs] == [1_500_000, 5]


def gzip_bomb(path: Path, decoded: int) -> Path:
    """A gzip file of `decoded` newlines (blank JSONL lines, all valid), about 1000 times smaller."""
    member = zlib.compressobj(9, zlib.DEFLATED, 31)
    one = member.compress(b"\n" * (64 << 20)) + member.flush()
    with path.open("wb") as f:
        for _ in range(decoded // (64 << 20)):
            f.write(one)  # gzip members one after another decode as one stream
    return path


def test_gzip_bomb_is_refused_by_its_decoded_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = gzip_bomb(tmp_path / "bomb.jsonl.gz", 512 << 20)
    assert bomb.stat().st_size < 1 << 20
    monkeypatch.setattr(jsonl, "GZIP_RATIO_FLOOR", 16 << 20)
    with pytest.raises(InputError, match="gzip bomb"):
        list(jsonl_blocks(pafs.LocalFileSystem(), str(bomb)))


def test_gzip_of_ordinary_text_passes_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "in.jsonl.gz", rows(3000), gz=True)
    monkeypatch.setattr(jsonl, "GZIP_RATIO_FLOOR", 0)  # only the ratio: repetitive JSON is ~20x
    assert len(load_docs(str(path))) == 3000


def test_copydesk_dedup_of_a_gzip_bomb_exits_2_in_bounded_memory(tmp_path: Path) -> None:
    bomb = gzip_bomb(tmp_path / "bomb.jsonl.gz", 4 << 30)  # 4 GB of newlines in ~4 MB
    code = (
        "import resource, sys\n"
        "from flows.cli import main\n"
        f"rc = main(['dedup', {str(bomb)!r}, '--out', {str(tmp_path / 'out')!r}])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    message, peak_kb = [ln for ln in lines[:-1] if "gzip bomb" in ln], int(lines[-1])
    assert len(message) == 1 and "Traceback" not in done.stderr
    # Imports take ~250 MB and the reader holds a few 32 MB blocks (measured 560-650 MB on a fresh
    # machine): a bound well under the 4 GB the bomb inflates to, with room for allocator variance.
    assert peak_kb < 1024 * 1024
    assert not (tmp_path / "out" / "clusters").exists()
