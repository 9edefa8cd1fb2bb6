"""What one process has read of each dedup index, kept between batches.

Index files never change once written, so a long-lived process (a scheduled worker) keeps the
lookup segments it opened (their keys and fences), the ids it read, and the clusters/ membership
it last wrote, and reads only what is new.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from dedup import lookup


@dataclass(slots=True)
class IndexView:
    """What a process has read of one index."""

    lookups: dict[str, lookup.Segment] = field(default_factory=dict)  # open segment files by path
    ids: set[str] = field(default_factory=set)  # every stored article id ...
    id_files: set[str] = field(default_factory=set)  # ... read from these files
    membership: pa.Table | None = None  # clusters/ (article_id, cluster_id, date) as last written ...
    clusters_state: list[tuple[str, int, int]] = field(default_factory=list)  # ... when its files were these


#: What this process has loaded, by index location and parameters.
_VIEWS: dict[tuple[str, str], IndexView] = {}


def view_of(sketches_uri: str, params_tag: str) -> IndexView:
    """This process's view of the index whose sketches are at `sketches_uri` (made empty the first time)."""
    return _VIEWS.setdefault((sketches_uri, params_tag), IndexView())


def clear_cache() -> None:
    """Forget the sketches this process has loaded."""
    _VIEWS.clear()
