"""The error root of Copydesk, shared by every package (`ingest`, `dedup`, `flows`, `report`).

    CopydeskError                      root of every error Copydesk raises on purpose
    ├── TransientError (mixin)         worth retrying: network, 5xx, throttling
    └── PermanentError (mixin)         retrying gives the same answer

Each package builds its own tree on `CopydeskError` and the two mixins (`dedup.errors`,
`ingest.errors`, `common.storage.StorageError`); Prefect's retry condition reads the mixins
through `is_transient`.
"""

from __future__ import annotations


class CopydeskError(Exception):
    """Root of every error Copydesk raises on purpose."""


class TransientError(CopydeskError):
    """A failure that may go away when retried (network, 5xx, throttling)."""


class PermanentError(CopydeskError):
    """A failure that retrying will not change (bad input, 404, parse error)."""


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) is worth retrying."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, TransientError):
            return True
        if isinstance(cur, PermanentError):
            return False
        seen.add(id(cur))
        cur = cur.__cause__
    return False
