"""Errors of the dedup package, built on the root in `common.errors`.

CopydeskError (common.errors)
└── DedupError
    ├── InputError(PermanentError) a table of texts that cannot be deduplicated (missing column, ...)
    └── IndexStateError            the stored dedup index is unreadable or of other parameters
"""

from __future__ import annotations

from common.errors import CopydeskError, PermanentError


class DedupError(CopydeskError):
    """Root of the dedup package's errors."""


class InputError(DedupError, PermanentError):
    """A table of texts that cannot be deduplicated: missing column, duplicate ids, unreadable."""


class IndexStateError(DedupError, PermanentError):
    """The stored dedup index cannot be used: unreadable, or made with other parameters."""
