"""Parsing a dedup input file into a table of the standard columns: Parquet, JSONL (pyarrow's reader,
or line by line when it cannot), times as aware UTC, every problem one `InputError` saying where.
The files, streaming and batches around it are `dedup.inputs`."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from dedup.errors import InputError

log = logging.getLogger(__name__)

REQUIRED = ("id", "text")
OPTIONAL_TEXT = ("title", "url", "source", "canonical_url")
OPTIONAL_TIME = ("published_at", "fetched_at")
OPTIONAL_INT = ("source_priority",)
ID_ALIASES = ("article_id",)
#: Times outside [EARLIEST, LATEST) are placeholders or typos (0001-01-01, 9999-12-31): they are read
#: as unknown (null), with a warning, so that no later date arithmetic overflows on them.
EARLIEST = datetime(1800, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


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
