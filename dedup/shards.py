"""An input table cut into shards that tasks read on their own: consecutive row groups of each
Parquet file, each JSONL file whole (a gzip stream has no place to start reading in the middle).

Shards list in the order `inputs.iter_text_batches` reads the table, so that their rows, put one
after the other, are the single-process reading exactly (`dedup.distributed` relies on it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pyarrow as pa

from common.storage import Location, StorageError, resolve
from dedup.errors import InputError
from dedup.input_parse import ID_ALIASES, OPTIONAL_INT, OPTIONAL_TEXT, OPTIONAL_TIME, REQUIRED, _normalise
from dedup.inputs import _checked_batch, _format_of, _input_files, _jsonl_tables, _rebatch
from dedup.records import Doc


@dataclasses.dataclass(frozen=True, slots=True)
class Shard:
    """A piece of an input read by one task: a file, or some row groups of a Parquet file."""

    uri: str  # the file, local or s3://
    row_groups: tuple[int, ...] | None = None  # all of a JSONL file, or these of a Parquet one
    rows: int | None = None  # known for Parquet


def input_shards(path: str, *, shard_rows: int = 50_000, endpoint_url: str | None = None) -> list[Shard]:
    """`path` cut into shards of about `shard_rows` rows, in the order `iter_text_batches` reads it.

    Raises:
        InputError: as `load_docs`, for the path and the Parquet footers.
    """
    import pyarrow.parquet as pq

    try:
        loc = resolve(path, endpoint_url=endpoint_url)
    except StorageError as exc:
        raise InputError(f"cannot open {path}: {exc}") from exc
    shards = []
    for f in _input_files(loc):
        if _format_of(f) != "parquet":
            shards.append(Shard(_uri_of(loc, f)))
            continue
        try:
            meta = pq.ParquetFile(f, filesystem=loc.fs).metadata
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"cannot read {f} as Parquet: {exc}") from exc
        groups: list[int] = []
        rows = 0
        for g in range(meta.num_row_groups):
            groups.append(g)
            rows += meta.row_group(g).num_rows
            if rows >= shard_rows:
                shards.append(Shard(_uri_of(loc, f), tuple(groups), rows))
                groups, rows = [], 0
        if groups:
            shards.append(Shard(_uri_of(loc, f), tuple(groups), rows))
    return shards


def _uri_of(loc: Location, path: str) -> str:
    """The URI of a file found under `loc` (its filesystem path carries no scheme)."""
    return f"s3://{path}" if loc.uri.startswith("s3://") else path


def read_shard(
    shard: Shard, *, batch_rows: int = 50_000, endpoint_url: str | None = None
) -> Iterator[tuple[list[Doc], pa.ChunkedArray]]:
    """`iter_text_batches` of one shard (ids are checked within it; the caller checks across shards)."""
    import pyarrow.parquet as pq

    try:
        loc = resolve(shard.uri, endpoint_url=endpoint_url)
    except StorageError as exc:
        raise InputError(f"cannot open {shard.uri}: {exc}") from exc
    seen: set[str] = set()
    if shard.row_groups is None:
        for table in _rebatch(_jsonl_tables(loc.fs, loc.path), batch_rows):
            yield _checked_batch(table, shard.uri, seen, text=False), table.column("text")
        return
    wanted = {*REQUIRED, *ID_ALIASES, *OPTIONAL_TEXT, *OPTIONAL_TIME, *OPTIONAL_INT}
    try:
        with pq.ParquetFile(loc.path, filesystem=loc.fs) as pf:
            columns = [n for n in pf.schema_arrow.names if n in wanted]
            for group in shard.row_groups:
                for batch in pf.iter_batches(batch_size=batch_rows, row_groups=[group], columns=columns):
                    table = _normalise(pa.Table.from_batches([batch]), shard.uri)
                    yield _checked_batch(table, shard.uri, seen, text=False), table.column("text")
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {shard.uri} as Parquet: {exc}") from exc
