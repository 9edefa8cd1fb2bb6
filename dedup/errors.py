"""Errors of Copydesk, rooted here because `dedup` is the package every other one may import.

    CopydeskError                      root of every error Copydesk raises on purpose
    ├── TransientError (mixin)         worth retrying: network, 5xx, throttling
    ├── PermanentError (mixin)         retrying gives the same answer
    └── DedupError
        ├── InputError(PermanentError) a table of texts that cannot be deduplicated (missing column, ...)
        └── IndexStateError            the stored dedup index is unreadable or of other parameters

`ingest.errors` and `flows` build their own trees on `CopydeskError` and the two mixins;
Prefect's retry condition reads the mixins.
"""

from __future__ import annotations


class CopydeskError(Exception):
    """Root of every error Copydesk raises on purpose."""


class TransientError(CopydeskError):
    """A failure that may go away when retried (network, 5xx, throttling)."""


class PermanentError(CopydeskError):
    """A failure that retrying will not change (bad input, 404, parse error)."""


class DedupError(CopydeskError):
    """Root of the dedup package's errors."""


class InputError(DedupError, PermanentError):
    """A table of texts that cannot be deduplicated: missing column, duplicate ids, unreadable."""


class IndexStateError(DedupError, PermanentError):
    """The stored dedup index cannot be used: unreadable, or made with other parameters."""


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
