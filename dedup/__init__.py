"""Near-duplicate detection and clustering of news texts: MinHash signatures, candidate pairs,
verification, clusters with an original and its copies.

    from dedup import Doc, deduplicate
    result = deduplicate([Doc(id="a", text=...), Doc(id="b", text=...)])

The names below are the public API; they are loaded on first use, so ``import dedup`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from common.lazy import lazy_exports

if TYPE_CHECKING:
    from dedup.engine import deduplicate, deduplicate_batches
    from dedup.errors import DedupError, IndexStateError, InputError
    from dedup.index import DedupIndex, IndexUpdate
    from dedup.inputs import docs_from_table, iter_doc_batches, load_docs
    from dedup.offline import dedup_table
    from dedup.params import DedupParams, MatchParams, MinHashParams
    from dedup.records import Assignment, DedupResult, Doc, Link

_WHERE = {
    "deduplicate": "dedup.engine",
    "deduplicate_batches": "dedup.engine",
    "DedupError": "dedup.errors",
    "IndexStateError": "dedup.errors",
    "InputError": "dedup.errors",
    "DedupIndex": "dedup.index",
    "IndexUpdate": "dedup.index",
    "docs_from_table": "dedup.inputs",
    "iter_doc_batches": "dedup.inputs",
    "load_docs": "dedup.inputs",
    "dedup_table": "dedup.offline",
    "DedupParams": "dedup.params",
    "MatchParams": "dedup.params",
    "MinHashParams": "dedup.params",
    "Assignment": "dedup.records",
    "DedupResult": "dedup.records",
    "Doc": "dedup.records",
    "Link": "dedup.records",
}

__all__ = [
    "Assignment",
    "DedupError",
    "DedupIndex",
    "DedupParams",
    "DedupResult",
    "Doc",
    "IndexStateError",
    "IndexUpdate",
    "InputError",
    "Link",
    "MatchParams",
    "MinHashParams",
    "dedup_table",
    "deduplicate",
    "deduplicate_batches",
    "docs_from_table",
    "iter_doc_batches",
    "load_docs",
]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
