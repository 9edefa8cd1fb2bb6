"""What every Copydesk package shares: the error root (`common.errors`), the storage layer
(`common.storage`: local folders and S3 alike, atomic Parquet files, Hive partitions), and the
progress protocol that long stages report to (`common.progress`, imported as a module).

The names below are the public API; they are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from common.lazy import lazy_exports

if TYPE_CHECKING:
    from common.errors import CopydeskError, PermanentError, TransientError, is_transient
    from common.storage import (
        Location,
        StorageError,
        StorageRefused,
        StorageUnavailable,
        delete_files,
        list_files,
        partition_files,
        read_dataset,
        resolve,
        stable_name,
        write_file,
        write_partitioned,
    )

_WHERE = {
    "CopydeskError": "common.errors",
    "TransientError": "common.errors",
    "PermanentError": "common.errors",
    "is_transient": "common.errors",
    "Location": "common.storage",
    "resolve": "common.storage",
    "read_dataset": "common.storage",
    "write_file": "common.storage",
    "write_partitioned": "common.storage",
    "list_files": "common.storage",
    "delete_files": "common.storage",
    "partition_files": "common.storage",
    "stable_name": "common.storage",
    "StorageError": "common.storage",
    "StorageUnavailable": "common.storage",
    "StorageRefused": "common.storage",
}

__all__ = [
    "CopydeskError",
    "Location",
    "PermanentError",
    "StorageError",
    "StorageRefused",
    "StorageUnavailable",
    "TransientError",
    "delete_files",
    "is_transient",
    "list_files",
    "partition_files",
    "read_dataset",
    "resolve",
    "stable_name",
    "write_file",
    "write_partitioned",
]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
