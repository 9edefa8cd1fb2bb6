"""Read a table of texts to deduplicate: JSONL, JSONL.gz or Parquet, one file or a folder of them.

Columns `id` and `text` are required (`article_id` is accepted for `id`, so Copydesk's own
`articles/` table can be read back); `title`, `url`, `canonical_url`, `source`, `published_at`,
`fetched_at` and `source_priority` (an integer) are optional. Times may be ISO strings, epoch
seconds or Parquet timestamps; they come back as aware UTC datetimes, naive ones taken as UTC.
Every problem is one `InputError` with a one-line message saying where.

Local paths and `s3://bucket/prefix` both work (through `common.storage.resolve`). Every format is
streamed: Parquet a row group at a time, JSONL and JSONL.gz in blocks of whole lines
(`dedup.jsonl`, which also refuses gzip bombs and absurdly long lines), so memory follows the batch,
not the file. The JSON fast path is pyarrow's reader; only a block it cannot read (mixed types in
a column, a broken line) goes through a line-by-line pass, which then names the bad line. Times
outside 1800-2200 (placeholders like 0001-01-01 or 9999-12-31) are read as unknown, with a warning.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from common.storage import Location, StorageError, resolve
from dedup.errors import InputError
from dedup.input_parse import (
    ID_ALIASES,
    OPTIONAL_INT,
    OPTIONAL_TEXT,
    OPTIONAL_TIME,
    REQUIRED,
    _empty,
    _normalise,
    _parse_jsonl,
    _read_parquet,
    _standard_schema_empty,
)
from dedup.jsonl import jsonl_blocks
from dedup.records import Doc

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_JSONL = (".jsonl", ".ndjson", ".json")
_GZ = tuple(f"{s}.gz" for s in _JSONL)
_PARQUET = (".parquet", ".pq")


def load_docs(path: str, *, endpoint_url: str | None = None) -> list[Doc]:
    """Read every row of the JSONL/JSONL.gz/Parquet file or folder at `path` as a `Doc`.

    Args:
        path: a local file or folder, or an `s3://bucket/prefix` one.
        endpoint_url: the S3-compatible endpoint, when not AWS itself nor `AWS_ENDPOINT_URL`.

    Raises:
        InputError: unreadable or missing path, unknown format, a missing column, a null or empty
            `text` or `id`, duplicate ids, a line that is not JSON, a time that does not parse.
    """
    try:
        loc = resolve(path, endpoint_url=endpoint_url)
    except StorageError as exc:
        raise InputError(f"cannot open {path}: {exc}") from exc
    tables = [_normalise(_read_file(loc.fs, f), f) for f in _input_files(loc)]
    table = pa.concat_tables(tables) if tables else _empty()
    if table.num_rows == 0:
        raise InputError(f"{path}: no rows to deduplicate")
    _check_ids_unique(table, path)
    return _to_docs(table)


def iter_doc_batches(
    path: str, *, batch_rows: int = 50_000, endpoint_url: str | None = None
) -> Iterator[list[Doc]]:
    """The rows of `path` as `Doc`s, `batch_rows` at a time: Parquet is streamed by record batch,
    so a table larger than memory can be deduplicated. Checks as `load_docs`, ids across batches too.
    """
    seen: set[str] = set()
    for table, where in _iter_tables(path, batch_rows=batch_rows, endpoint_url=endpoint_url):
        yield _checked_batch(table, where, seen)


def iter_text_batches(
    path: str, *, batch_rows: int = 50_000, endpoint_url: str | None = None
) -> Iterator[tuple[list[Doc], pa.ChunkedArray]]:
    """`iter_doc_batches`, with each batch's texts left in their Arrow column beside docs without
    text: a million texts never become a million Python strings (`fingerprint` reads the column)."""
    seen: set[str] = set()
    for table, where in _iter_tables(path, batch_rows=batch_rows, endpoint_url=endpoint_url):
        yield _checked_batch(table, where, seen, text=False), table.column("text")


def _iter_tables(path: str, *, batch_rows: int, endpoint_url: str | None) -> Iterator[tuple[pa.Table, str]]:
    """Normalised tables of `batch_rows` rows of `path`, each with the file it is from."""
    import pyarrow.parquet as pq

    try:
        loc = resolve(path, endpoint_url=endpoint_url)
    except StorageError as exc:
        raise InputError(f"cannot open {path}: {exc}") from exc
    rows = 0
    wanted = {*REQUIRED, *ID_ALIASES, *OPTIONAL_TEXT, *OPTIONAL_TIME, *OPTIONAL_INT}
    for f in _input_files(loc):
        if _format_of(f) == "parquet":
            try:
                pf = pq.ParquetFile(f, filesystem=loc.fs)
                columns = [n for n in pf.schema_arrow.names if n in wanted]
                for table in _parquet_tables(pf, columns, batch_rows):
                    yield _normalise(table, f), f
                    rows += table.num_rows
            except (OSError, pa.ArrowException) as exc:
                raise InputError(f"cannot read {f} as Parquet: {exc}") from exc
        else:
            for table in _rebatch(_jsonl_tables(loc.fs, f), batch_rows):
                yield table, f
                rows += table.num_rows
    if rows == 0:
        raise InputError(f"{path}: no rows to deduplicate")
    # The Arrow pool keeps what the largest batch needed; nothing of it is used after the read.
    pa.default_memory_pool().release_unused()


def _checked_batch(table: pa.Table, path: str, seen: set[str], *, text: bool = True) -> list[Doc]:
    _check_ids_unique(table, path)
    docs = _to_docs(table, text=text)
    for d in docs:
        if d.id in seen:
            raise InputError(f"{path}: duplicate id {d.id!r} (it appears in two batches)")
        seen.add(d.id)
    return docs


def _parquet_tables(pf: Any, columns: list[str], batch_rows: int) -> Iterator[pa.Table]:
    """Tables of about `batch_rows` rows, read one row group at a time: a reader spanning row
    groups keeps buffers of several of them alive (hundreds of MB of text at a time)."""
    pending: list[pa.RecordBatch] = []
    size = 0
    for group in range(pf.num_row_groups):
        for batch in pf.iter_batches(batch_size=batch_rows, row_groups=[group], columns=columns):
            pending.append(batch)
            size += batch.num_rows
            if size >= batch_rows:
                yield pa.Table.from_batches(pending)
                pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def docs_from_table(table: pa.Table, *, where: str = "table") -> list[Doc]:
    """The rows of an Arrow table (`articles/` read back, say) as `Doc`s; ids are not checked for uniqueness.

    Raises:
        InputError: a missing column, a null or empty `text` or `id`, a time that does not parse.
    """
    return _to_docs(_normalise(table, where))


def _input_files(loc: Location) -> list[str]:
    try:
        info = loc.fs.get_file_info(loc.path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {loc.uri}: {exc}") from exc
    if info.type == pafs.FileType.NotFound:
        raise InputError(f"no such file or folder: {loc.uri}")
    if info.type == pafs.FileType.File:
        _format_of(loc.path)  # fail early on an unknown format
        return [loc.path]
    try:
        infos = loc.fs.get_file_info(pafs.FileSelector(loc.path, recursive=True))
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot list {loc.uri}: {exc}") from exc
    files = sorted(
        i.path
        for i in infos
        if i.type == pafs.FileType.File
        and _format_of(i.path, strict=False) is not None
        and not any(part.startswith((".", "_")) for part in i.path[len(loc.path) :].split("/"))
    )
    if not files:
        raise InputError(f"{loc.uri}: no .jsonl, .jsonl.gz or .parquet files in this folder")
    return files


def _format_of(path: str, *, strict: bool = True) -> str | None:
    lower = path.lower()
    if lower.endswith(_GZ):
        return "jsonl.gz"
    if lower.endswith(_JSONL):
        return "jsonl"
    if lower.endswith(_PARQUET):
        return "parquet"
    if strict:
        raise InputError(f"unknown format of {path}: expected .jsonl, .jsonl.gz or .parquet")
    return None


def _read_file(fs: pafs.FileSystem, path: str) -> pa.Table:
    if _format_of(path) == "parquet":
        return _read_parquet(fs, path)
    tables = list(_jsonl_tables(fs, path))
    return pa.concat_tables(tables) if tables else _standard_schema_empty()


def _jsonl_tables(fs: pafs.FileSystem, path: str) -> Iterator[pa.Table]:
    """The rows of a JSONL or JSONL.gz file as normalised tables, one per block of whole lines."""
    for block, first_line in jsonl_blocks(fs, path):
        table = _normalise(_parse_jsonl(block, path, first_line=first_line), path)
        if table.num_rows:
            yield table


def _rebatch(tables: Iterable[pa.Table], batch_rows: int) -> Iterator[pa.Table]:
    """Tables of `batch_rows` rows made of `tables` (the last one may be shorter)."""
    pending: list[pa.Table] = []
    size = 0
    for table in tables:
        pending.append(table)
        size += table.num_rows
        while size >= batch_rows:
            whole = pa.concat_tables(pending)
            yield whole.slice(0, batch_rows)
            rest = whole.slice(batch_rows)
            pending, size = ([rest] if rest.num_rows else []), rest.num_rows
    if pending:
        yield pa.concat_tables(pending)


def _check_ids_unique(table: pa.Table, path: str) -> None:
    ids = table.column("id")
    if len(pc.unique(ids)) == table.num_rows:
        return
    counts = pc.value_counts(ids)
    dup = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    raise InputError(f"{path}: duplicate id {dup[0].as_py()!r} ({len(dup)} ids appear more than once)")


def _to_docs(table: pa.Table, *, text: bool = True) -> list[Doc]:
    # Building a million small objects: the cyclic GC would otherwise rescan them over and over.
    enabled = gc.isenabled()
    gc.disable()
    try:
        names = (*REQUIRED, *OPTIONAL_TEXT) if text else ("id", *OPTIONAL_TEXT)
        cols = {name: table.column(name).to_pylist() for name in names}
        if not text:
            cols["text"] = [""] * table.num_rows
        for name in OPTIONAL_TIME:
            micros = table.column(name).cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()
            cols[name] = [None if v is None else _EPOCH + timedelta(microseconds=v) for v in micros]
        cols["source_priority"] = table.column("source_priority").to_pylist()
        order = [f.name for f in dataclasses.fields(Doc)]  # positional: a million rows build faster
        return [Doc(*row) for row in zip(*(cols[n] for n in order), strict=True)]
    finally:
        if enabled:
            gc.enable()
