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
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from common.storage import Location, StorageError, resolve
from dedup.errors import InputError
from dedup.jsonl import jsonl_blocks
from dedup.records import Doc

log = logging.getLogger(__name__)

REQUIRED = ("id", "text")
OPTIONAL_TEXT = ("title", "url", "source", "canonical_url")
OPTIONAL_TIME = ("published_at", "fetched_at")
OPTIONAL_INT = ("source_priority",)
ID_ALIASES = ("article_id",)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Times outside [EARLIEST, LATEST) are placeholders or typos (0001-01-01, 9999-12-31): they are read
#: as unknown (null), with a warning, so that no later date arithmetic overflows on them.
EARLIEST = datetime(1800, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

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


def _read_parquet(fs: pafs.FileSystem, path: str) -> pa.Table:
    import pyarrow.parquet as pq

    wanted = {*REQUIRED, *ID_ALIASES, *OPTIONAL_TEXT, *OPTIONAL_TIME, *OPTIONAL_INT}
    try:
        pf = pq.ParquetFile(path, filesystem=fs)
        columns = [n for n in pf.schema_arrow.names if n in wanted]
        return pf.read(columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {path} as Parquet: {exc}") from exc


def _parse_jsonl(data: bytes, path: str, *, first_line: int = 1) -> pa.Table:
    import pyarrow.json as pj

    if not data.strip():
        return _empty()
    try:
        # pyarrow's reader parses 1 MB blocks in parallel; a line longer than that fails as
        # "straddling", and the data is then read again as one block.
        return pj.read_json(pa.BufferReader(data))
    except pa.ArrowInvalid as exc:
        error = exc
    if "straddl" in str(error):
        try:
            return pj.read_json(pa.BufferReader(data), read_options=pj.ReadOptions(block_size=len(data) + 1))
        except pa.ArrowInvalid as exc:
            error = exc
    log.debug("pyarrow could not read %s (%s); reading it line by line", path, error)
    return _parse_jsonl_slow(data, path, first_line=first_line)


def _parse_jsonl_slow(data: bytes, path: str, *, first_line: int = 1) -> pa.Table:
    """Line-by-line JSONL reader: slower, but copes with mixed types and names the bad line."""
    wanted = (*REQUIRED, *ID_ALIASES, *OPTIONAL_TEXT, *OPTIONAL_TIME, *OPTIONAL_INT)
    columns: dict[str, list[Any]] = {name: [] for name in wanted}
    seen: set[str] = set()
    for lineno, line in enumerate(data.split(b"\n"), start=first_line):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{path}: line {lineno} is not valid JSON ({exc})") from exc
        if not isinstance(row, dict):
            raise InputError(f"{path}: line {lineno} is not a JSON object")
        for name in wanted:
            value = row.get(name)
            if name in row:
                seen.add(name)
            if name in (*REQUIRED, *ID_ALIASES) and isinstance(value, int | float):
                value = str(value)
            elif name in OPTIONAL_TIME and value is not None:
                value = _parse_time(value, path=path, column=name, row_id=row.get("id"))
            columns[name].append(value)
    arrays: dict[str, pa.Array] = {}
    for name in wanted:
        if name not in seen:
            continue
        if name in OPTIONAL_TIME:
            arrays[name] = pa.array(columns[name], pa.timestamp("us", tz="UTC"))
            continue
        if name in OPTIONAL_INT:
            arrays[name] = _as_int(pa.array(columns[name]), path, name)
            continue
        try:
            arrays[name] = pa.array(columns[name], pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError(f"{path}: column {name!r} must hold strings ({exc})") from exc
    return pa.table(arrays)


def _parse_time(value: Any, *, path: str, column: str, row_id: Any) -> datetime | None:
    """`value` as an aware UTC time; None when it is a time outside what a datetime holds."""
    try:
        if isinstance(value, bool):
            raise TypeError(value)
        if isinstance(value, int | float):
            if not (EARLIEST.timestamp() <= value < LATEST.timestamp()):
                return None  # the year 10000 does not fit a datetime: out of range, like `_in_range`'s
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.strip())
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        raise TypeError(value)
    except OverflowError:
        return None  # 9999-12-31T23:00-05:00 is in the year 10000 in UTC
    except (ValueError, TypeError, OSError) as exc:
        raise InputError(
            f"{path}: {column} of id {row_id!r} is not an ISO time or epoch seconds: {value!r}"
        ) from exc


def _empty() -> pa.Table:
    return pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())})


def _normalise(table: pa.Table, path: str) -> pa.Table:
    """Return `table` as the standard columns: strings, and UTC timestamps for the times."""
    names = set(table.column_names)
    if "id" not in names:
        alias = next((a for a in ID_ALIASES if a in names), None)
        if alias is not None and table.num_rows:
            table = table.append_column("id", table.column(alias))
            names.add("id")
    if table.num_rows == 0:
        return _standard_schema_empty()
    for name in REQUIRED:
        if name not in names:
            raise InputError(f"{path}: required column {name!r} is missing (columns: {sorted(names)})")
    out: dict[str, pa.ChunkedArray | pa.Array] = {}
    out["id"] = _as_string(table.column("id"), path, "id")
    out["text"] = _as_string(table.column("text"), path, "text")
    ids = out["id"]
    null_ids = pc.is_null(ids)
    if pc.any(null_ids).as_py():
        row = pc.index(null_ids, True).as_py()
        raise InputError(f"{path}: row {row + 1} has no id")
    _check_text(out["text"], ids, path)
    for name in OPTIONAL_TEXT:
        out[name] = (
            _as_string(table.column(name), path, name)
            if name in names
            else pa.nulls(table.num_rows, pa.string())
        )
    for name in OPTIONAL_TIME:
        out[name] = (
            _in_range(_as_time(table.column(name), ids, path, name), ids, path, name)
            if name in names
            else pa.nulls(table.num_rows, pa.timestamp("us", tz="UTC"))
        )
    for name in OPTIONAL_INT:
        out[name] = (
            _as_int(table.column(name), path, name) if name in names else pa.nulls(table.num_rows, pa.int64())
        )
    return pa.table(out)


def _standard_schema_empty() -> pa.Table:
    fields = [(n, pa.string()) for n in (*REQUIRED, *OPTIONAL_TEXT)]
    fields += [(n, pa.timestamp("us", tz="UTC")) for n in OPTIONAL_TIME]
    fields += [(n, pa.int64()) for n in OPTIONAL_INT]
    return pa.schema(fields).empty_table()


def _as_string(col: pa.ChunkedArray, path: str, name: str) -> pa.ChunkedArray:
    if pa.types.is_string(col.type):
        return col
    if pa.types.is_large_string(col.type) or pa.types.is_integer(col.type) or pa.types.is_null(col.type):
        return col.cast(pa.string())
    if pa.types.is_dictionary(col.type):
        return col.cast(pa.string())
    raise InputError(f"{path}: column {name!r} must hold strings, not {col.type}")


def _as_int(col: pa.Array | pa.ChunkedArray, path: str, name: str) -> pa.Array | pa.ChunkedArray:
    if pa.types.is_integer(col.type) or pa.types.is_null(col.type):
        return col.cast(pa.int64())
    raise InputError(f"{path}: column {name!r} must hold integers, not {col.type}")


def _check_text(text: pa.ChunkedArray, ids: pa.ChunkedArray, path: str) -> None:
    blank = pc.or_kleene(pc.is_null(text), pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0))
    blank = pc.fill_null(blank, True)
    if pc.any(blank).as_py():
        row = pc.index(blank, True).as_py()
        raise InputError(f"{path}: id {ids[row].as_py()!r} has empty or null text")


def _as_time(col: pa.ChunkedArray, ids: pa.ChunkedArray, path: str, name: str) -> pa.ChunkedArray:
    utc = pa.timestamp("us", tz="UTC")
    if pa.types.is_null(col.type):
        return col.cast(utc)
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        return col.cast(utc)
    if not (
        pa.types.is_string(col.type)
        or pa.types.is_large_string(col.type)
        or pa.types.is_integer(col.type)
        or pa.types.is_floating(col.type)
    ):
        raise InputError(f"{path}: column {name!r} must hold times, not {col.type}")
    values = [
        None if v is None else _parse_time(v, path=path, column=name, row_id=i)
        for v, i in zip(col.to_pylist(), ids.to_pylist(), strict=True)
    ]
    return pa.chunked_array([pa.array(values, utc)])


def _in_range(col: pa.ChunkedArray, ids: pa.ChunkedArray, path: str, name: str) -> pa.ChunkedArray:
    """`col` with the times outside [EARLIEST, LATEST) made null; says how many, and one of them."""
    lo = pa.scalar(EARLIEST, pa.timestamp("us", tz="UTC"))
    hi = pa.scalar(LATEST, pa.timestamp("us", tz="UTC"))
    out = pc.or_(pc.less(col, lo), pc.greater_equal(col, hi))
    bad = int(pc.sum(pc.cast(pc.fill_null(out, False), pa.int64())).as_py() or 0)
    if not bad:
        return col
    first = pc.index(pc.fill_null(out, False), True).as_py()
    # The raw value as a number: a timestamp in the year 10000 has no Python datetime to print.
    raw = col.cast(pa.int64())[first].as_py()
    log.warning(
        "%s: %d %s times before %s or from %s on are taken as unknown (id %r: %s µs from 1970)",
        path,
        bad,
        name,
        EARLIEST.date(),
        LATEST.date(),
        ids[first].as_py(),
        raw,
    )
    return pc.if_else(pc.fill_null(out, False), pa.scalar(None, col.type), col)


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
