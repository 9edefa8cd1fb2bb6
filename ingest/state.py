"""What the last runs learnt about each feed and sitemap, so an unchanged one costs nothing.

For every document read, `FetchState` keeps the validators the server sent (ETag,
Last-Modified), a hash of the body, and for sitemap indexes the child sitemaps they listed. The
next `ingest.discover.discover_refs` with that state sends ``If-None-Match`` /
``If-Modified-Since``: a ``304 Not Modified``, or a body whose hash has not changed, yields no refs
(an unchanged sitemap index still has its children checked, the same way).

The state lives in one small Parquet file, ``<root>/state/http_cache.parquet``, written whole
and atomically (`common.storage.write_file`). The caller loads it before discovery and saves it
once the refs found have been ingested: saved earlier, a run that dies in between would take
those documents for already read.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from common.storage import Location, StorageError, write_file
from ingest.timeutil import to_utc, utcnow
from ingest.urls import normalize_url

log = logging.getLogger(__name__)

STATE_DIR = "state"
HTTP_CACHE_FILE = "http_cache.parquet"
_TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),
        pa.field("etag", pa.string()),
        pa.field("last_modified", pa.string()),
        pa.field("content_hash", pa.string()),
        pa.field("children", pa.list_(pa.string())),
        pa.field("checked_at", _TS, nullable=False),
    ]
)


def body_hash(body: bytes) -> str:
    """sha256 (hex) of a document's bytes as fetched."""
    return hashlib.sha256(body).hexdigest()


@dataclass(slots=True)
class DocumentState:
    """What is known of one feed or sitemap."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    children: list[str] = field(default_factory=list)
    checked_at: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class FetchState:
    """Per-document validators and content hashes, by normalised URL."""

    documents: dict[str, DocumentState] = field(default_factory=dict)

    def get(self, url: str) -> DocumentState | None:
        return self.documents.get(normalize_url(url))

    def put(self, entry: DocumentState) -> None:
        self.documents[normalize_url(entry.url)] = entry

    def __len__(self) -> int:
        return len(self.documents)


def state_location(root: Location) -> Location:
    return root.child(STATE_DIR)


def load_fetch_state(root: Location) -> FetchState:
    """The state saved under `root`, or an empty one when there is none yet.

    A file that cannot be parsed is logged and ignored (the next run reads every document again).

    Raises:
        common.storage.StorageError: the store cannot be reached.
    """
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    loc = state_location(root).child(HTTP_CACHE_FILE)
    try:
        if root.fs.get_file_info(loc.path).type != pafs.FileType.File:
            return FetchState()
    except (OSError, pa.ArrowException) as exc:
        raise StorageError(f"cannot read {loc.uri}: {exc}") from exc
    try:
        table = pq.read_table(loc.path, filesystem=root.fs)
    except (OSError, pa.ArrowException) as exc:
        log.warning("ignoring unreadable fetch state %s: %s", loc.uri, exc)
        return FetchState()
    state = FetchState()
    for row in table.to_pylist():
        state.put(
            DocumentState(
                url=row["url"],
                etag=row.get("etag"),
                last_modified=row.get("last_modified"),
                content_hash=row.get("content_hash"),
                children=list(row.get("children") or []),
                checked_at=to_utc(row["checked_at"]),
            )
        )
    log.debug("loaded fetch state of %d documents from %s", len(state), loc.uri)
    return state


def save_fetch_state(state: FetchState, root: Location) -> str:
    """Write `state` to ``<root>/state/http_cache.parquet`` (replacing it, atomically); returns its URI.

    Raises:
        common.storage.StorageError: the store cannot be written.
    """
    rows = sorted(state.documents.values(), key=lambda e: normalize_url(e.url))
    table = pa.Table.from_pydict(
        {
            "url": [e.url for e in rows],
            "etag": [e.etag for e in rows],
            "last_modified": [e.last_modified for e in rows],
            "content_hash": [e.content_hash for e in rows],
            "children": [e.children for e in rows],
            "checked_at": [to_utc(e.checked_at) for e in rows],
        },
        schema=SCHEMA,
    )
    uri = write_file(table, state_location(root), HTTP_CACHE_FILE)
    log.info("saved fetch state of %d documents to %s", len(rows), uri)
    return uri
