"""Read a JSONL or JSONL.gz file as blocks of whole lines, in bounded memory.

A table of a million articles is gigabytes of JSON: it is read `BLOCK_BYTES` at a time and cut at
the last newline, so at most one block (plus the line it cut) is in memory, whatever the file's
size. Two caps keep a hostile file from taking the machine:

- a line longer than `MAX_LINE_BYTES` (no article is 64 MB of text) is refused;
- a gzip file that inflates to more than `GZIP_MAX_RATIO` times its own size, past
  `GZIP_RATIO_FLOOR`, is refused as a likely gzip bomb (text compresses 3-10x; a bomb of zeros or
  newlines 1000x). The decoded bytes are counted as they are read, so the check costs no memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.fs as pafs

from dedup.errors import InputError

BLOCK_BYTES = 32 << 20
MAX_LINE_BYTES = 64 << 20
GZIP_MAX_RATIO = 100
GZIP_RATIO_FLOOR = 256 << 20


def jsonl_blocks(
    fs: pafs.FileSystem,
    path: str,
    *,
    block_bytes: int | None = None,
    max_line_bytes: int | None = None,
    max_ratio: int | None = None,
    ratio_floor: int | None = None,
) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines of the JSONL file at `path` (gunzipped if it ends in .gz), each with
    the number of its first line in the file. The limits default to this module's constants.

    Raises:
        InputError: the file cannot be read, is not gzip although named so, has a line longer than
            `max_line_bytes`, or (gzip) inflates past `max_ratio` times its size and `ratio_floor`.
    """
    gz = path.lower().endswith(".gz")
    block_bytes = block_bytes or BLOCK_BYTES
    max_line_bytes = max_line_bytes or MAX_LINE_BYTES
    max_ratio = max_ratio or GZIP_MAX_RATIO
    ratio_floor = GZIP_RATIO_FLOOR if ratio_floor is None else ratio_floor
    try:
        limit = max(ratio_floor, max_ratio * fs.get_file_info(path).size) if gz else None
        with fs.open_input_stream(path, compression="gzip" if gz else None) as stream:
            yield from _blocks(stream, path, block_bytes, max_line_bytes, limit, max_ratio)
    except (OSError, pa.ArrowException, EOFError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def _blocks(
    stream: pa.NativeFile, path: str, block_bytes: int, max_line_bytes: int, limit: int | None, ratio: int
) -> Iterator[tuple[bytes, int]]:
    carry = b""
    line = 1
    decoded = 0
    while chunk := stream.read(block_bytes):
        decoded += len(chunk)
        if limit is not None and decoded > limit:
            raise InputError(
                f"{path}: inflates to more than {limit / 2**20:.0f} MB, over {ratio}x its "
                "compressed size (a gzip bomb?); refusing to read on"
            )
        cut = chunk.rfind(b"\n")
        if cut < 0:
            carry += chunk
            if len(carry) > max_line_bytes:
                raise InputError(f"{path}: line {line} is longer than {max_line_bytes >> 20} MB")
            continue
        block = carry + chunk[: cut + 1] if carry else chunk[: cut + 1]
        carry = chunk[cut + 1 :]
        _check_lines(block, path, line, max_line_bytes)
        if block.strip():
            yield block, line
        line += block.count(b"\n")
    if carry.strip():
        _check_lines(carry, path, line, max_line_bytes)
        yield carry, line


def _check_lines(block: bytes, path: str, first: int, max_line_bytes: int) -> None:
    """Refuse a block whose longest line passes `max_line_bytes` (only a block that large can)."""
    if len(block) <= max_line_bytes:
        return
    start = 0
    for k, end in enumerate(_newlines(block)):
        if end - start > max_line_bytes:
            raise InputError(f"{path}: line {first + k} is longer than {max_line_bytes >> 20} MB")
        start = end + 1


def _newlines(block: bytes) -> Iterator[int]:
    at = block.find(b"\n")
    while at >= 0:
        yield at
        at = block.find(b"\n", at + 1)
    yield len(block)
