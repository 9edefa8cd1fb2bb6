"""The work files of a distributed dedup: what one stage's tasks write and the next stage's read.

    <work>/fp/s00003.parquet             shard 3's docs and fingerprints (sketch rows, not stripped)
    <work>/lines/b002/s00003.parquet     its distinct (paragraph line, text content) keys, bucket 2
    <work>/anchors/r005/s00003.parquet   its anchors (top bits, text) whose top bits fall in range 5
    <work>/keys/r005/s00003.parquet      its keys (a text's smallest anchors), the same way
    <work>/hits/h001/r005.parquet        range 5's (holder, other) hit counts for holders of bucket 1

`<work>` is a folder (local, or an s3:// prefix) that every worker and the driver can reach; each
task is given its URI and resolves it itself (`common.storage.resolve`, with the S3 endpoint of the
run). Arrays are stored as the columns of a small zstd Parquet file: one format for local disks and
S3, read back without a Python loop. Every file a stage's task writes has a fixed name, so a task
run again (a retried or lost worker) replaces its own files and nothing else.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from common.storage import Location, delete_files, list_files, resolve, write_file
from dedup.fingerprint_arrays import Fingerprints
from dedup.records import Doc
from dedup.sketches import docs_to_sketches, sketches_to_docs


@dataclass(frozen=True, slots=True)
class Work:
    """Where a run's work files live; cheap to send to a task (two strings)."""

    uri: str
    endpoint_url: str | None = None

    @property
    def loc(self) -> Location:
        return _located(self.uri, self.endpoint_url)

    def write_arrays(self, relpath: str, **arrays: np.ndarray) -> None:
        """One file of equal-length 1-d arrays (a column each)."""
        write_file(pa.table({k: pa.array(v) for k, v in arrays.items()}), self.loc, relpath)

    def read_arrays(self, relpath: str, *names: str) -> tuple[np.ndarray, ...]:
        loc = self.loc.child(relpath)
        table = pq.read_table(loc.path, filesystem=loc.fs, columns=list(names))
        return tuple(table[n].to_numpy() for n in names)

    def read_many(self, relpaths: Sequence[str], *names: str) -> tuple[np.ndarray, ...]:
        """The columns `names` of several files, one after the other in the order given."""
        parts = [self.read_arrays(p, *names) for p in relpaths]
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(len(names)))

    def write_sketches(self, relpath: str, docs: Sequence[Doc], fp: Fingerprints) -> None:
        write_file(docs_to_sketches(docs, fp), self.loc, relpath)

    def read_sketches(self, relpath: str, num_perm: int) -> tuple[list[Doc], Fingerprints]:
        loc = self.loc.child(relpath)
        return sketches_to_docs(pq.read_table(loc.path, filesystem=loc.fs), num_perm)

    def remove(self) -> int:
        """Delete every work file, and the folder; returns how many files went."""
        loc = self.loc
        files = list_files(loc, suffix="")
        delete_files(loc, files)
        with contextlib.suppress(OSError, pa.ArrowException):  # S3 has no folders to delete
            loc.fs.delete_dir(loc.path)
        return len(files)


@functools.lru_cache(maxsize=8)
def _located(uri: str, endpoint_url: str | None) -> Location:
    """A work folder resolved once per process: every read and write of a task goes through
    `Work.loc`, and an S3 filesystem is not free to build (a work folder's URI names its run, so a
    later run never meets an earlier one's entry)."""
    return resolve(uri, endpoint_url=endpoint_url)


WORK_PREFIX = "_work-"


def work_under(root: Location, run_id: str, endpoint_url: str | None) -> Work:
    """A fresh work folder directly under the output root, once the work folders that runs killed
    part-way left there are deleted (the caller holds the root's lease: no other run is using them)."""
    try:
        children = root.fs.get_file_info(pafs.FileSelector(root.path, allow_not_found=True))
    except (OSError, pa.ArrowException):
        children = []
    for child in children:
        name = child.path.rstrip("/").rsplit("/", 1)[-1]
        if child.type == pafs.FileType.Directory and name.startswith(WORK_PREFIX):
            Work(f"{root.uri.rstrip('/')}/{name}", endpoint_url).remove()
    return Work(root.child(f"{WORK_PREFIX}{run_id}-{uuid.uuid4().hex[:8]}").uri, endpoint_url)


def fp_file(shard: int) -> str:
    return f"fp/s{shard:05d}.parquet"


def lines_file(bucket: int, shard: int) -> str:
    return f"lines/b{bucket:03d}/s{shard:05d}.parquet"


def anchors_file(part: int, shard: int) -> str:
    return f"anchors/r{part:03d}/s{shard:05d}.parquet"


def keys_file(part: int, shard: int) -> str:
    return f"keys/r{part:03d}/s{shard:05d}.parquet"


def hits_file(bucket: int, part: int) -> str:
    return f"hits/h{bucket:03d}/r{part:03d}.parquet"
