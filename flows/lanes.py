"""Politeness across workers: ingest batches cut into lanes, each host in one lane only.

On one machine the batches run one after the other, and the fetcher spaces the requests to a host
within a batch. On a Dask cluster, batches run at once on several workers, and two of them holding
pages of one host would ask it twice as fast as allowed. So the pages are first split by host
(``scheme://host:port``, the key the fetcher's per-host gate uses), the hosts dealt into `lanes`
lanes (the largest first, each to the lane with the fewest pages so far), and each lane cut into
batches that run in order, one at a time: a host's pages are only ever fetched by the one task its
lane is running. Lanes run side by side. A batch that fails does not hold up the rest of its lane.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ingest.records import PageRef

F = TypeVar("F")


def host_of(url: str) -> str:
    """The per-host key of a URL, as the fetcher's per-host gate keys it (`ingest.fetch`)."""
    return urlsplit(url).netloc.lower()


def plan_lanes(
    refs: Sequence[PageRef],
    *,
    lanes: int,
    batch_size: int,
    group: Callable[[PageRef], str] | None = None,
) -> list[list[list[PageRef]]]:
    """`refs` as `lanes` lanes (fewer when there are fewer hosts) of batches of at most `batch_size`;
    each host's pages in one lane, each batch of one `group` (one publisher's fetch settings)."""
    by_host: dict[str, list[PageRef]] = {}
    for ref in refs:
        by_host.setdefault(host_of(ref.url), []).append(ref)
    heap = [(0, k) for k in range(max(1, min(lanes, len(by_host))))]
    members: list[list[PageRef]] = [[] for _ in heap]
    for _, pages in sorted(by_host.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        load, lane = heapq.heappop(heap)
        members[lane].extend(pages)
        heapq.heappush(heap, (load + len(pages), lane))
    out = []
    for pages in members:
        by_group: dict[str, list[PageRef]] = {}
        for ref in pages:
            by_group.setdefault(group(ref) if group is not None else "", []).append(ref)
        out.append(
            [part[i : i + batch_size] for part in by_group.values() for i in range(0, len(part), batch_size)]
        )
    return [lane for lane in out if lane]


def run_lanes(
    lanes: Sequence[Sequence[list[PageRef]]],
    submit: Callable[[list[PageRef]], Any],
    outcome: Callable[[Any], Any],
) -> Iterator[tuple[list[PageRef], Any]]:
    """Run every lane's batches in order, the lanes at once; yields (batch, outcome) as each ends.

    `submit(batch)` starts a batch and returns its Prefect future; `outcome(future)` is its result
    or the exception it failed with for good (`flows.pipeline._outcome`).
    """
    from prefect.futures import as_completed

    queues = [list(lane) for lane in lanes]
    running: dict[Any, tuple[int, list[PageRef]]] = {}
    for k, queue in enumerate(queues):
        if queue:
            batch = queue.pop(0)
            running[submit(batch)] = (k, batch)
    while running:
        done = next(as_completed(list(running)))
        k, batch = running.pop(done)
        yield batch, outcome(done)
        if queues[k]:
            nxt = queues[k].pop(0)
            running[submit(nxt)] = (k, nxt)
