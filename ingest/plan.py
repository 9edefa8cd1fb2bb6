"""What a run fetches and what feed state it keeps: plain functions over refs and error rows.

`plan_batches` drops pages already ingested and cuts the rest into fetch batches;
`settled_documents` keeps the feed and sitemap state of documents whose pages did not fail in a
way worth trying again. The flows call them; they need no Prefect and are tested without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from ingest.errors import is_final_kind
from ingest.records import ErrorRecord, PageRef
from ingest.seen import SeenUrls
from ingest.state import DocumentState
from ingest.urls import article_id_for, normalize_url


def plan_batches(
    refs: Iterable[PageRef],
    *,
    known_ids: set[str],
    batch_size: int,
    seen: SeenUrls | None = None,
    group: Callable[[PageRef], str] | None = None,
) -> tuple[list[list[PageRef]], int]:
    """Drop refs already in `articles/` or in the record of `seen` URLs and repeats of one URL,
    then cut the rest into batches (each of one `group`, when given: one publisher's fetch settings).

    A URL found by two sources (a feed and a sitemap) is kept once, the first ref's metadata
    completed by the later ones'. Returns the batches and how many distinct URLs were already known.
    """
    by_id: dict[str, PageRef] = {}
    for ref in refs:
        key = article_id_for(ref.url)
        kept = by_id.get(key)
        if kept is None:
            by_id[key] = ref
            continue
        kept.title = kept.title or ref.title
        kept.published_at = kept.published_at or ref.published_at
        kept.language = kept.language or ref.language
        kept.guid = kept.guid or ref.guid
    todo = [
        ref for key, ref in by_id.items() if key not in known_ids and (seen is None or ref.url not in seen)
    ]
    skipped = len(by_id) - len(todo)
    groups: dict[str, list[PageRef]] = {}
    for ref in todo:
        groups.setdefault(group(ref) if group is not None else "", []).append(ref)
    batches = [part[i : i + batch_size] for part in groups.values() for i in range(0, len(part), batch_size)]
    return batches, skipped


def is_final(error: ErrorRecord) -> bool:
    """Whether an error row is final: trying its page again would not help (`ingest.errors.is_final_kind`)."""
    return is_final_kind(error.kind)


def settled_documents(
    updates: Mapping[str, DocumentState], refs: Iterable[PageRef], errors: Iterable[ErrorRecord]
) -> dict[str, DocumentState]:
    """The `updates` of feed and sitemap state to keep: those of documents none of whose pages
    failed in a way worth trying again (timeouts, 5xx, a task lost). The others keep their old
    state, so the next run reads them again and retries their pages."""
    document_of = {r.url: r.discovered_from for r in refs}
    unsettled = {
        normalize_url(document_of[e.url]) for e in errors if e.url in document_of and not is_final(e)
    }
    return {key: entry for key, entry in updates.items() if key not in unsettled}
