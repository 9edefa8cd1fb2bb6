"""Disk full: the output root on a small tmpfs (mounted by the test when it runs as root and may
mount; otherwise every local write fails with ENOSPC through a patched writer). A write that does
not fit fails with a StorageError and leaves every visible file whole and no temporary file; once
there is room again, the same update ends as a clean run."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from common import storage as dataset
from common.storage import StorageError, resolve
from dedup import lookup, lookup_format
from dedup.index import DedupIndex, clear_cache
from tests.corpora.planted import planted_corpus
from tests.hostile.kill_runs import rows


def _mount(path: Path, size: str, *, remount: bool = False) -> bool:
    options = f"remount,size={size}" if remount else f"size={size}"
    command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)]
    return os.geteuid() == 0 and subprocess.run(command, capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, object]]:
    """A folder that fills up after a few hundred KB, and a function that makes room in it."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if _mount(disk, "160k"):
        yield disk, lambda: _mount(disk, "64m", remount=True)
        clear_cache()  # the segments it mapped
        subprocess.run(["umount", "-l", str(disk)], check=False)
        return
    real = dataset.commit_local
    full = [True]

    def no_space(tmp: str, target: str) -> None:
        if full[0] and target.startswith(str(disk)):
            raise OSError(errno.ENOSPC, "No space left on device", tmp)
        real(tmp, target)

    monkeypatch.setattr(dataset, "commit_local", no_space)
    monkeypatch.setattr(lookup_format, "commit_local", no_space)
    yield disk, lambda: full.__setitem__(0, False)


def test_a_full_disk_fails_cleanly_and_the_update_finishes_once_there_is_room(
    small_disk: tuple[Path, object], tmp_path: Path
) -> None:
    disk, make_room = small_disk
    docs = planted_corpus(150, copy_rate=0.6, seed=12, mean_words=300).docs
    DedupIndex(resolve(str(tmp_path / "clean"))).update(docs, run_id="clean")
    out = disk / "data"
    with pytest.raises(StorageError, match=r"No space left|ENOSPC"):
        DedupIndex(resolve(str(out))).update(docs, run_id="full")
    visible = [p for p in out.rglob("*") if p.is_file()]
    assert not [p for p in visible if p.name.startswith(".tmp-")]
    for path in visible:
        if path.suffix == ".parquet":
            pq.read_metadata(path)  # whole
        if path.suffix == lookup_format.SUFFIX:
            lookup.Segment.open(resolve(str(out)).fs, str(path))  # whole
    make_room()  # type: ignore[operator]
    clear_cache()
    DedupIndex(resolve(str(out))).update(docs, run_id="room")
    for table in ("clusters", "links"):
        assert rows(out, table, ("run_id",)) == rows(tmp_path / "clean", table, ("run_id",)), table
