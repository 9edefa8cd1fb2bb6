"""How many runs an input failed in with an error Copydesk does not know, so it is not retried forever.

An error row whose kind is one of `ingest.errors` says whether it is worth trying again (a
timeout is, a 404 is not). Any other kind (a LookupError from a library, an OverflowError, a
task that died) says nothing, and used to be taken as worth retrying: its feed never settled and
the page was fetched again on every run, for good. Now each such failure is counted per URL
across runs; at `DEFAULT_MAX_ATTEMPTS` the row becomes a `GaveUp` row (permanent), so the feed
settles. A URL that later ends as an article is forgotten.

The counts live in ``<root>/state/attempts.parquet`` (``url_hash`` int64, ``attempts`` int32),
written whole and atomically by the run that holds the output root's lease.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

import pyarrow as pa

from common.errors import CopydeskError
from common.storage import Location, StorageError, write_file
from ingest.records import ErrorRecord
from ingest.seen import url_hash
from ingest.state import state_location

log = logging.getLogger(__name__)

ATTEMPTS_FILE = "attempts.parquet"
#: Runs an input may fail in with an unknown error before that failure is taken as final.
DEFAULT_MAX_ATTEMPTS = 3
SCHEMA = pa.schema(
    [pa.field("url_hash", pa.int64(), nullable=False), pa.field("attempts", pa.int32(), nullable=False)]
)


def is_unknown(kind: str) -> bool:
    """Whether an error row's kind is none of Copydesk's own errors (so nothing says if retrying helps)."""
    return kind not in _copydesk_kinds()


def _copydesk_kinds() -> set[str]:
    names: set[str] = set()
    todo: list[type] = [CopydeskError]
    while todo:
        cls = todo.pop()
        if cls.__name__ not in names:
            names.add(cls.__name__)
            todo.extend(cls.__subclasses__())
    return names


@dataclasses.dataclass(slots=True)
class Attempts:
    """Failures with unknown errors per URL hash; `changed` tells whether there is anything to save."""

    counts: dict[int, int] = dataclasses.field(default_factory=dict)
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    changed: bool = False

    def record(self, errors: Iterable[ErrorRecord]) -> list[ErrorRecord]:
        """Count this run's unknown failures (once per URL); those at the limit come back as `GaveUp`."""
        out: list[ErrorRecord] = []
        counted: set[int] = set()
        for error in errors:
            if not is_unknown(error.kind):
                out.append(error)
                continue
            h = url_hash(error.url)
            if h not in counted:
                counted.add(h)
                self.counts[h] = self.counts.get(h, 0) + 1
                self.changed = True
            n = self.counts[h]
            if n >= self.max_attempts:
                message = f"gave up after {n} runs failing with {error.kind}: {error.message}"
                out.append(dataclasses.replace(error, kind="GaveUp", message=message[:2000]))
            else:
                out.append(error)
        return out

    def forget(self, urls: Iterable[str]) -> None:
        """URLs that ended as articles: their count goes."""
        for url in urls:
            if self.counts.pop(url_hash(url), None) is not None:
                self.changed = True


def load_attempts(root: Location, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Attempts:
    """The counts saved under `root` (none yet: empty). An unreadable file is logged and ignored.

    Raises:
        common.storage.StorageError: the store cannot be reached.
    """
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    loc = state_location(root).child(ATTEMPTS_FILE)
    try:
        if root.fs.get_file_info(loc.path).type != pafs.FileType.File:
            return Attempts(max_attempts=max_attempts)
    except (OSError, pa.ArrowException) as exc:
        raise StorageError(f"cannot read {loc.uri}: {exc}") from exc
    try:
        table = pq.read_table(loc.path, filesystem=root.fs)
        counts = dict(zip(table["url_hash"].to_pylist(), table["attempts"].to_pylist(), strict=True))
    except (OSError, pa.ArrowException, KeyError) as exc:
        log.warning("ignoring unreadable attempt counts %s: %s", loc.uri, exc)
        return Attempts(max_attempts=max_attempts)
    return Attempts(counts=counts, max_attempts=max_attempts)


def save_attempts(attempts: Attempts, root: Location) -> str | None:
    """Write the counts to ``<root>/state/attempts.parquet`` if they changed; returns its URI.

    Raises:
        common.storage.StorageError: the store cannot be written.
    """
    if not attempts.changed:
        return None
    keys = sorted(attempts.counts)
    table = pa.table(
        {
            "url_hash": pa.array(keys, pa.int64()),
            "attempts": pa.array([attempts.counts[k] for k in keys], pa.int32()),
        },
        schema=SCHEMA,
    )
    uri = write_file(table, state_location(root), ATTEMPTS_FILE)
    attempts.changed = False
    log.info("saved failure counts of %d URLs to %s", len(keys), uri)
    return uri
