"""Parquet tables under an output root, a local folder or `s3://bucket/prefix`, through pyarrow's
filesystem layer so both behave alike.

Files are written whole under a temporary name and then moved into place (a local rename with
fsyncs of the file and its folder; on S3 a copy of a finished temporary key, since pyarrow
completes an upload even when its writer raised), so a run that dies part-way leaves no
half-written file visible. While a run holds the output root's lease, every write and delete
first asks `check_writable` (see `guard_writes`).
File names are chosen by the caller and deterministic, so writing the same rows twice replaces a
file instead of adding one.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from common.errors import CopydeskError, PermanentError, TransientError

log = logging.getLogger(__name__)

#: Version of the output tables' schemas, stored in every file's metadata.
SCHEMA_VERSION = "1"
SCHEMA_VERSION_KEY = b"copydesk.schema_version"


def stable_name(keys: Iterable[str]) -> str:
    """A file name part that depends only on the set of `keys`, in any order: the first 16 hex digits
    of the sha1 of the sorted keys joined by newlines. Writing the same rows again so replaces the file
    instead of adding one; the recipe never changes, so existing roots keep their file names."""
    return hashlib.sha1("\n".join(sorted(keys)).encode("utf-8")).hexdigest()[:16]


class StorageError(CopydeskError):
    """Reading or writing the output store failed."""


class StorageUnavailable(StorageError, TransientError):
    """The store did not answer (network, throttling); worth retrying."""


class StorageRefused(StorageError, PermanentError):
    """The store refused the request (no such bucket, no permission, bad URI)."""


@dataclass(frozen=True, slots=True)
class Location:
    """A folder in a filesystem: where a table or an archive lives."""

    fs: pafs.FileSystem
    path: str
    uri: str

    def child(self, *parts: str) -> Location:
        path = "/".join([self.path.rstrip("/"), *parts])
        uri = "/".join([self.uri.rstrip("/"), *parts])
        return Location(self.fs, path, uri)


def resolve(uri: str, *, endpoint_url: str | None = None) -> Location:
    """Turn a local path or an `s3://bucket/prefix` URI into a `Location`.

    For S3 the endpoint comes from `s3_endpoint` (`endpoint_url`, ``COPYDESK_S3_ENDPOINT_URL``,
    ``AWS_ENDPOINT_URL``, else AWS itself);
    credentials and region from the usual AWS variables.
    """
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        endpoint = s3_endpoint(endpoint_url)
        kwargs: dict[str, object] = {
            "region": os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
        }
        if endpoint:
            ep = urlparse(endpoint)
            kwargs["endpoint_override"] = ep.netloc or ep.path
            kwargs["scheme"] = ep.scheme or "https"
        try:
            fs = pafs.S3FileSystem(**kwargs)
        except Exception as exc:  # pyarrow raises plain ArrowInvalid/OSError here
            raise StorageRefused(f"cannot open S3 store {uri}: {exc}") from exc
        path = f"{parsed.netloc}{parsed.path}".rstrip("/")
        return Location(fs, path, f"s3://{path}")
    if parsed.scheme not in ("", "file"):
        raise StorageRefused(f"unsupported store URI {uri!r}: use a local path or s3://bucket/prefix")
    local = os.path.abspath(parsed.path if parsed.scheme == "file" else uri)
    return Location(pafs.LocalFileSystem(), local, local)


def s3_endpoint(endpoint_url: str | None = None) -> str | None:
    """The S3 endpoint, one rule for inputs, outputs, the raw archive and the lease: the one given,
    else ``COPYDESK_S3_ENDPOINT_URL`` (the setting), else ``AWS_ENDPOINT_URL``, else AWS itself."""
    return (
        endpoint_url
        or os.environ.get("COPYDESK_S3_ENDPOINT_URL")
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )


#: How a store says no for good: S3 error codes (as boto3 and pyarrow's AWS SDK name them) and
#: HTTP statuses as pyarrow reports them. Never a bare "403" anywhere in the text: file names hold it.
_REFUSED = re.compile(
    r"\b(NoSuchBucket|AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|ACCESS_DENIED|NO_SUCH_BUCKET"
    r"|INVALID_ACCESS_KEY_ID|SIGNATURE_DOES_NOT_MATCH)\b|HTTP (?:status|response code):? ?(?:403|404)\b"
)


_guards: dict[int, tuple[str, Callable[[], None]]] = {}
_guards_lock = threading.Lock()


@contextlib.contextmanager
def guard_writes(root_uri: str, check: Callable[[], None]) -> Iterator[None]:
    """Call `check` before every write or delete under `root_uri` while the block runs.

    The run holding an output root's lease registers its check here, so that a run which lost the
    lease (taken over while it was paused, or not renewed in time) raises before its next write of
    any table, the index or the state, wherever in the code that write happens.
    """
    key = object()
    with _guards_lock:
        _guards[id(key)] = (root_uri.rstrip("/"), check)
    try:
        yield
    finally:
        with _guards_lock:
            del _guards[id(key)]


def check_writable(uri: str) -> None:
    """Run the checks guarding `uri` (see `guard_writes`); they raise when writing is no longer safe."""
    with _guards_lock:
        checks = [check for root, check in _guards.values() if uri == root or uri.startswith(root + "/")]
    for check in checks:
        check()


def _fsync_local(path: str, *, directory: bool = False) -> None:
    """Flush a local file (or a folder's entries, after a rename) to disk, so a power loss cannot
    leave an empty or missing file behind a rename that looked done."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_local(tmp: str, target: str) -> None:
    """Move a finished local temporary file into place durably: fsync the file, rename, fsync the folder."""
    _fsync_local(tmp)
    os.replace(tmp, target)
    _fsync_local(os.path.dirname(target) or ".", directory=True)


def _translate(exc: Exception, what: str) -> StorageError:
    text = str(exc)
    if isinstance(exc, PermissionError) or _REFUSED.search(text):
        return StorageRefused(f"{what}: {text}")
    return StorageUnavailable(f"{what}: {text}")


def write_file(table: pa.Table, loc: Location, relpath: str) -> str:
    """Write `table` as one zstd Parquet file at `loc/relpath`, atomically; returns its URI."""
    meta = dict(table.schema.metadata or {})
    meta[SCHEMA_VERSION_KEY] = SCHEMA_VERSION.encode()
    table = table.replace_schema_metadata(meta)
    return _write_whole(loc.child(relpath), lambda out: pq.write_table(table, out, compression="zstd"))


def write_bytes(data: bytes, target: Location) -> str:
    """Write a small file whole at `target` (a local rename with fsyncs, or a copied S3 key)."""
    return _write_whole(target, lambda out: out.write(data))


def _write_whole(target: Location, write: Callable[[pa.NativeFile], object]) -> str:
    """Have `write` fill a stream, then put the result at `target` whole: locally a temporary file
    committed by `commit_local`, on S3 a buffer handed to `put_object`. Returns `target`'s URI."""
    parent = target.path.rsplit("/", 1)[0]
    check_writable(target.uri)
    try:
        target.fs.create_dir(parent, recursive=True)
        if isinstance(target.fs, pafs.LocalFileSystem):
            # No .parquet suffix: readers globbing **/*.parquet never see a half-written file.
            tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
            try:
                with target.fs.open_output_stream(tmp) as out:
                    write(out)
                commit_local(tmp, target.path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        else:
            sink = pa.BufferOutputStream()
            write(sink)
            put_object(target.fs, target.path, sink.getvalue())
    except (OSError, pa.ArrowException) as exc:
        raise _translate(exc, f"cannot write {target.uri}") from exc
    return target.uri


def put_object(fs: pafs.FileSystem, path: str, data: pa.Buffer | bytes) -> None:
    """Write `data` to an object store key so that the key holds all of it or nothing.

    pyarrow's S3 stream completes its upload when closed, even after an error, so the bytes go to
    a temporary key (no ``.parquet`` suffix, skipped by every reader) that is copied into place
    only once whole, and deleted on any failure, Ctrl-C included.
    """
    parent, _, _ = path.rpartition("/")
    tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
    try:
        with fs.open_output_stream(tmp) as out:
            out.write(data)
        fs.move(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError, pa.ArrowException):
            fs.delete_file(tmp)
        raise


def write_partitioned(
    table: pa.Table,
    loc: Location,
    *,
    partition_col: str,
    file_stem: str,
) -> list[str]:
    """Write `table` Hive-style, one file `<col>=<value>/<file_stem>.parquet` per partition value.

    The partition column is dropped from the files (it lives in the path), as Hive readers expect.
    """
    if table.num_rows == 0:
        return []
    written = []
    values = table.column(partition_col)
    for value in sorted({v for v in values.to_pylist()}, key=str):
        mask = pc.equal(values, pa.scalar(value, values.type))
        part = table.filter(mask).drop_columns([partition_col])
        written.append(write_file(part, loc, f"{partition_col}={value}/{file_stem}.parquet"))
    return written


def list_files(loc: Location, suffix: str = ".parquet") -> list[str]:
    """Paths of the visible files under `loc` (temporary files excluded), sorted."""
    try:
        info = loc.fs.get_file_info(loc.path)
        if info.type == pafs.FileType.NotFound:
            return []
        infos = loc.fs.get_file_info(pafs.FileSelector(loc.path, recursive=True))
    except (OSError, pa.ArrowException) as exc:
        raise _translate(exc, f"cannot list {loc.uri}") from exc
    return sorted(
        i.path
        for i in infos
        if i.type == pafs.FileType.File and i.path.endswith(suffix) and "/.tmp-" not in i.path
    )


def partition_files(
    loc: Location, values: Iterable[str], *, column: str = "date", files: list[str] | None = None
) -> list[str]:
    """The files under `loc` (or among `files`, paths as `list_files` gives them) that lie in one of the
    Hive partitions ``<column>=<value>`` for `values`, in their listed order.

    pyarrow's Hive partitioning parses the paths and a filter on `column` picks the fragments; no file
    is opened (the dataset is given its schema, so none is read to infer it).
    """
    import pyarrow.dataset as pads

    files = list_files(loc) if files is None else files
    wanted = sorted({str(v) for v in values})
    if not files or not wanted:
        return []
    schema = pa.schema([pa.field(column, pa.string())])
    try:
        ds = pads.dataset(
            files,
            schema=schema,
            filesystem=loc.fs,
            format="parquet",
            partitioning=pads.partitioning(schema, flavor="hive"),
            partition_base_dir=loc.path,
        )
        picked = {f.path for f in ds.get_fragments(filter=pads.field(column).isin(pa.array(wanted)))}
    except (OSError, pa.ArrowException) as exc:
        raise _translate(exc, f"cannot list the partitions of {loc.uri}") from exc
    return [f for f in files if f in picked]


def read_dataset(loc: Location, *, columns: Iterable[str] | None = None) -> pa.Table | None:
    """Read every visible Parquet file under `loc` (Hive partitions become columns); None if empty."""
    import pyarrow.dataset as pads

    files = list_files(loc)
    if not files:
        return None
    try:
        ds = pads.dataset(
            files, filesystem=loc.fs, format="parquet", partitioning="hive", partition_base_dir=loc.path
        )
        return ds.to_table(columns=list(columns) if columns is not None else None)
    except (OSError, pa.ArrowException) as exc:
        raise _translate(exc, f"cannot read {loc.uri}") from exc


def delete_files(loc: Location, paths: Iterable[str]) -> None:
    """Delete the given file paths (as returned by `list_files`)."""
    for path in paths:
        check_writable(loc.uri)
        try:
            loc.fs.delete_file(path)
        except FileNotFoundError:
            log.debug("already gone: %s", path)
        except (OSError, pa.ArrowException) as exc:
            raise _translate(exc, f"cannot delete {path}") from exc
