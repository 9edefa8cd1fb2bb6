"""Where a lease lives, and its conditional writes (create-if-absent, compare-and-swap).

``O_CREAT | O_EXCL`` and replace/delete under an ``flock`` of ``lease.json.lock`` on a local disk;
PUTs and DELETEs with ``If-None-Match: *`` / ``If-Match`` the ETag read on S3 (and S3-compatible
stores that support conditional writes: MinIO, moto). The policy on top is `flows.lease.Lease`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import uuid
from collections.abc import Iterator
from typing import Any, Protocol
from urllib.parse import urlparse

from common.errors import CopydeskError, PermanentError
from common.storage import StorageRefused, StorageUnavailable, resolve, s3_endpoint

LEASE_PATH = "state/lease.json"


class LeaseError(CopydeskError):
    """Root of the lease's errors."""


class StoreIgnoresConditions(LeaseError, PermanentError):
    """The store accepted a write its condition (``If-None-Match``/``If-Match``) should have refused:
    it cannot keep two runs apart, so none runs on it."""


class LeaseStore(Protocol):
    """Where the lease lives: create-if-absent, and compare-and-swap on a token read with it."""

    uri: str

    def create(self, data: bytes) -> bool: ...
    def read(self) -> tuple[bytes, str] | None: ...
    def replace(self, token: str, data: bytes) -> bool: ...
    def delete(self, token: str) -> bool: ...
    def verify_conditions(self, data: bytes) -> None: ...


class LocalLeaseStore:
    """The lease as a file; every operation under an exclusive ``flock`` of a sibling lock file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.uri = path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _read(self) -> bytes | None:
        """The file's bytes; None when absent. Whatever else sits at the path (a symlink, dangling
        or not, a folder) reads as b"": not a lease, so expired, and replaced by the next taker."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError:
            return b""
        try:
            with os.fdopen(fd, "rb") as fh:
                return fh.read()
        except IsADirectoryError:
            return b""

    def create(self, data: bytes) -> bool:
        with self._locked():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            _fsync_dir(os.path.dirname(self.path))
            return True

    def read(self) -> tuple[bytes, str] | None:
        with self._locked():
            data = self._read()
        return None if data is None else (data, _digest(data))

    def replace(self, token: str, data: bytes) -> bool:
        with self._locked():
            current = self._read()
            if current is None or _digest(current) != token:
                return False
            if os.path.isdir(self.path) and not os.path.islink(self.path):
                raise LeaseError(f"{self.path} is a folder, not a lease: remove it")
            tmp = f"{self.path}.tmp-{uuid.uuid4().hex}"
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            _fsync_dir(os.path.dirname(self.path))
            return True

    def verify_conditions(self, data: bytes) -> None:
        """Nothing to check: ``O_EXCL`` and the ``flock`` are the kernel's."""

    def delete(self, token: str) -> bool:
        with self._locked():
            current = self._read()
            if current is None or _digest(current) != token:
                return False
            os.unlink(self.path)
            return True


class S3LeaseStore:
    """The lease as an S3 object, written with conditional PUTs and DELETEs (boto3)."""

    _LOST = ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "404", "412", "409")

    def __init__(self, bucket: str, key: str, *, endpoint_url: str | None = None) -> None:
        import boto3

        region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
        self.bucket, self.key = bucket, key
        self.uri = f"s3://{bucket}/{key}"

    def _call(self, method: str, **kwargs: Any) -> Any:
        """Call the client; None when the condition failed, store errors translated."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, Key=self.key, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in self._LOST:
                return None
            if code in ("AccessDenied", "NoSuchBucket", "InvalidAccessKeyId", "403"):
                raise StorageRefused(f"cannot {method} {self.uri}: {exc}") from exc
            raise StorageUnavailable(f"cannot {method} {self.uri}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"cannot {method} {self.uri}: {exc}") from exc

    def create(self, data: bytes) -> bool:
        return self._call("put_object", Body=data, IfNoneMatch="*") is not None

    def read(self) -> tuple[bytes, str] | None:
        answer = self._call("get_object")
        if answer is None:
            return None
        return answer["Body"].read(), str(answer["ETag"])

    def replace(self, token: str, data: bytes) -> bool:
        return self._call("put_object", Body=data, IfMatch=token) is not None

    def delete(self, token: str) -> bool:
        return self._call("delete_object", IfMatch=token) is not None

    def verify_conditions(self, data: bytes) -> None:
        """Just after taking the lease (`data` is what we wrote), ask for two writes that must be
        refused: a create over it, and a replace with a token that matches nothing. A store that
        takes either ignores the conditions the lease rests on (some S3-compatible stores do)."""
        if self.create(data) or self.replace('"00000000000000000000000000000000"', data):
            raise StoreIgnoresConditions(
                f"{self.uri}: the store ignores conditional writes (If-None-Match / If-Match), so "
                "two runs could write the same output root at once; refusing to run on it. Use a "
                "store that supports them (AWS S3, MinIO, moto)"
            )


def store_for(out: str, *, endpoint_url: str | None = None) -> LeaseStore:
    """The lease store of an output root (a local folder or ``s3://bucket/prefix``)."""
    if urlparse(out).scheme == "s3":
        loc = resolve(out, endpoint_url=endpoint_url)  # checks the URI the same way the tables do
        bucket, _, prefix = loc.path.partition("/")
        endpoint = s3_endpoint(endpoint_url)
        key = f"{prefix}/{LEASE_PATH}" if prefix else LEASE_PATH
        return S3LeaseStore(bucket, key, endpoint_url=endpoint)
    return LocalLeaseStore(resolve(out).child(*LEASE_PATH.split("/")).path)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
