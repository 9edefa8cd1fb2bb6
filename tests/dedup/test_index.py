from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import duckdb
import numpy as np
import pytest

from common.storage import resolve
from dedup.engine import deduplicate
from dedup.fingerprint_arrays import Fingerprints
from dedup.index import DedupIndex
from dedup.records import Doc
from tests.corpora.planted import planted_corpus


def _cluster_rows(root: Path) -> list[tuple[str, str]]:
    glob = f"{root}/clusters/**/*.parquet"
    return duckdb.sql(
        f"select article_id, cluster_id from read_parquet('{glob}', hive_partitioning=true)"
    ).fetchall()


def _groups_from(root: Path) -> set[frozenset[str]]:
    rows = _cluster_rows(root)
    g: dict[str, set[str]] = defaultdict(set)
    for a, c in rows:
        g[c].add(a)
    return {frozenset(m) for m in g.values()}


def _one_pass(docs: list[Doc]) -> set[frozenset[str]]:
    g: dict[str, set[str]] = defaultdict(set)
    for a in deduplicate(docs).assignments:
        g[a.cluster_id].add(a.article_id)
    return {frozenset(m) for m in g.values()}


def _shuffled_batches(docs: list[Doc], root: Path, size: int, seed: int) -> None:
    """`docs` shuffled, into a fresh index at `root`, `size` at a time."""
    shuffled = list(docs)
    random.Random(seed).shuffle(shuffled)
    index = DedupIndex(resolve(str(root)))
    for k in range(0, len(shuffled), size):
        index.update(shuffled[k : k + size], run_id=f"run{k}")


def test_shuffled_batches_give_the_clusters_of_one_pass(tmp_path: Path) -> None:
    docs = planted_corpus(150, copy_rate=0.6, seed=21).docs
    _shuffled_batches(docs, tmp_path, 37, seed=7)
    assert _groups_from(tmp_path) == _one_pass(docs)
    count = duckdb.sql(f"select count(*) from read_parquet('{tmp_path}/clusters/**/*.parquet')").fetchall()
    assert count == [(len(docs),)]


LABELLED = Path(__file__).parents[2].parent / "shared" / "data"


@pytest.mark.parametrize("name", ["syndication-dev", "syndication-dev2"])
def test_the_labelled_sets_batch_by_batch_give_the_clusters_of_one_pass(tmp_path: Path, name: str) -> None:
    # The structures of real reprints (live chains across outlets, write-through families,
    # previews, digests, versions) arriving in shuffled batches, as a scheduled ingest sees them.
    source = LABELLED / name / "articles.jsonl.gz"
    if not source.exists():
        pytest.skip(f"{source} is not here (../shared/data is the evaluation data)")
    from dedup.inputs import load_docs

    docs = load_docs(str(source))
    _shuffled_batches(docs, tmp_path, 400, seed=5)
    assert _groups_from(tmp_path) == _one_pass(docs)
    # ... and each article's original, relation and the article it was matched to, row for row.
    glob = f"{tmp_path}/clusters/**/*.parquet"
    rows = duckdb.sql(
        f"select article_id, original_id, relation, copy_of from read_parquet('{glob}')"
    ).fetchall()
    one = {a.article_id: (a.original_id, a.relation, a.copy_of) for a in deduplicate(docs).assignments}
    assert {r[0]: tuple(r[1:]) for r in rows} == one


def test_a_live_page_and_the_item_it_runs_end_in_one_cluster_whatever_order_they_come_in(
    tmp_path: Path,
) -> None:
    # A story, a copy of it, an item posted alone, an earlier snapshot of a live page (its first
    # entries over the story) and the page itself (new entries, the item, the first entries, the
    # story). One pass puts all five in one cluster: the story with the snapshot's entries is most of
    # the page and nearly all it shares. Before the snapshot comes, the story alone is not, and the
    # page joins nothing; when the snapshot comes later, the page is regrouped and must take the
    # item along, though the item is in a cluster of its own and the snapshot does not hold it.
    import itertools

    from tests.dedup.test_structures import _doc, _stories

    story, entries = _stories(2, seed=41, words=450)
    k_item = min(
        (k for k in range(len(entries)) if len(entries[k].split()) >= 45), key=lambda k: len(entries[k])
    )
    item, rest = entries[k_item], entries[:k_item] + entries[k_item + 1 :]
    cut = next(
        k
        for k in range(len(rest))
        if sum(len(p.split()) for p in rest[:k]) >= 0.6 * len(" ".join(story).split())
    )
    first, new = rest[:cut], rest[cut:]
    docs = [
        _doc("story", story, 0),
        _doc("story-copy", story, 0.5),
        _doc("item", [item], 1),
        _doc("snapshot", [*first, *story], 1.5),
        _doc("page", [*new, item, *first, *story], 2),
    ]
    assert _one_pass(docs) == {frozenset(d.id for d in docs)}
    orders = list(itertools.permutations(docs))[::7]
    orders.append((docs[0], docs[1], docs[2], docs[4], docs[3]))  # the item, the page, then the snapshot
    for k, order in enumerate(orders):
        root = tmp_path / str(k)
        index = DedupIndex(resolve(str(root)))
        for d in order:
            index.update([d], run_id=d.id)
        assert _groups_from(root) == {frozenset(d.id for d in docs)}, [d.id for d in order]


def test_same_batch_twice_changes_nothing(tmp_path: Path) -> None:
    docs = planted_corpus(60, copy_rate=0.6, seed=4).docs
    index = DedupIndex(resolve(str(tmp_path)))
    index.update(docs, run_id="a")
    before = sorted((p.relative_to(tmp_path), p.read_bytes()) for p in tmp_path.rglob("*.parquet"))
    again = index.update(docs, run_id="b")
    after = sorted((p.relative_to(tmp_path), p.read_bytes()) for p in tmp_path.rglob("*.parquet"))
    assert again.new_articles == 0 and again.skipped == len(docs)
    assert before == after


def test_cluster_ids_survive_new_members_and_merges(tmp_path: Path) -> None:
    corpus = planted_corpus(40, copy_rate=1.0, seed=9)
    originals = [d for d in corpus.docs if corpus.kind[d.id] == "original"]
    copies = [d for d in corpus.docs if corpus.kind[d.id] in ("near_duplicate", "expanded", "excerpt")]
    index = DedupIndex(resolve(str(tmp_path)))
    first = index.update(originals, run_id="one")
    ids_before = {a.article_id: a.cluster_id for a in first.assignments}
    index.update(copies, run_id="two")
    rows = dict(_cluster_rows(tmp_path))
    for doc_id, cid in ids_before.items():
        assert rows[doc_id] == cid
    for c in copies:
        assert rows[c.id] == rows[corpus.cluster[c.id]]


def test_offline_dedup_then_incremental_batches_equal_one_pass(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dedup.offline import dedup_table

    docs = planted_corpus(120, copy_rate=0.6, seed=31).docs
    first, later = docs[:100], docs[100:]
    path = tmp_path / "first.parquet"
    pq.write_table(
        pa.table(
            {
                "id": [d.id for d in first],
                "text": [d.text for d in first],
                "published_at": [d.published_at for d in first],
            }
        ),
        path,
    )
    out = tmp_path / "out"
    dedup_table(str(path), resolve(str(out)), run_id="offline", batch_rows=33)
    DedupIndex(resolve(str(out))).update(later, run_id="later")
    assert _groups_from(out) == _one_pass(docs)


def test_links_are_written_once_and_added_text_survives_regrouping(tmp_path: Path) -> None:
    from datetime import timedelta

    story = planted_corpus(1, copy_rate=0.0, seed=5).docs[0]
    extra = planted_corpus(2, copy_rate=0.0, seed=6).docs
    expanded = Doc(
        "more", story.text + "\n\n" + extra[0].text, published_at=story.published_at + timedelta(hours=1)
    )
    trimmed = Doc(
        "trim",
        story.text.split("\n\n")[0] + "\n\n" + story.text.split("\n\n")[1],
        published_at=story.published_at + timedelta(hours=2),
    )
    index = DedupIndex(resolve(str(tmp_path)))
    index.update([story, expanded], run_id="one")
    index.update([trimmed], run_id="two")  # regroups the cluster: "more" comes back without its text
    glob = f"{tmp_path}/clusters/**/*.parquet"
    [(added,)] = duckdb.sql(
        f"select added_text from read_parquet('{glob}', hive_partitioning=true) where article_id = 'more'"
    ).fetchall()
    assert added and added.startswith(extra[0].text.split("\n\n")[0][:40])
    links_glob = f"{tmp_path}/links/**/*.parquet"
    links = duckdb.sql(
        f"select article_id, other_id, count(*) from read_parquet('{links_glob}') group by all"
    ).fetchall()
    assert links and all(n == 1 for _, _, n in links)


def test_each_row_of_a_batch_is_stripped_of_boilerplate_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch is stripped before it is matched and not again when it is regrouped with the
    history it met; nor is anything stripped again by the grouping (a dropped boilerplate mask)."""
    import dedup.boilerplate

    corpus = planted_corpus(40, copy_rate=1.0, seed=9)
    originals = [d for d in corpus.docs if corpus.kind[d.id] == "original"]
    copies = [d for d in corpus.docs if corpus.kind[d.id] != "original"]
    index = DedupIndex(resolve(str(tmp_path)))
    index.update(originals, run_id="one")
    stripped: list[int] = []
    real = dedup.boilerplate.strip

    def counted(fp: Fingerprints, boiler: np.ndarray, *, in_place: bool = False) -> Fingerprints:
        stripped.append(len(fp))
        return real(fp, boiler, in_place=in_place)

    monkeypatch.setattr(dedup.boilerplate, "strip", counted)
    update = index.update(copies, run_id="two")
    assert len(update.assignments) > len(copies)  # the history met is regrouped with the batch
    assert sum(stripped) == len(update.assignments)  # every row regrouped, stripped once


def test_sketches_carry_priority_and_old_files_without_it_still_read() -> None:
    from dedup.fingerprint import fingerprint
    from dedup.params import MinHashParams
    from dedup.sketches import docs_to_sketches, sketches_to_docs

    params = MinHashParams()
    docs = [Doc("a", "one two three four five six", source_priority=5), Doc("b", "seven eight nine ten")]
    table = docs_to_sketches(docs, fingerprint([d.text for d in docs], params))
    back, _ = sketches_to_docs(table, params.num_perm)
    assert [d.source_priority for d in back] == [5, None]
    old, _ = sketches_to_docs(table.drop_columns(["source_priority"]), params.num_perm)
    assert [d.id for d in old] == ["a", "b"] and [d.source_priority for d in old] == [None, None]


def test_sketch_rows_read_back_as_the_fingerprints(monkeypatch) -> None:
    import numpy as np

    import dedup.sketches as sketches
    from dedup.fingerprint import fingerprint

    monkeypatch.setattr(sketches, "_MAX_BINARY", 4000)  # binary columns cut into several chunks
    docs = [*planted_corpus(12, seed=9).docs, Doc("empty", "...")]
    fp = fingerprint([d.text for d in docs]).take(list(range(3, len(docs))))
    table = sketches.docs_to_sketches(docs[3:], fp)
    assert table["anchors"].num_chunks > 1
    back_docs, back = sketches.sketches_to_docs(table, fp.signatures.shape[1])
    assert [d.id for d in back_docs] == [d.id for d in docs[3:]]
    names = ("signatures", "n_shingles", "anchor_offsets", "anchors", "anchor_paras", "content_hashes")
    for name in (*names, "para_offsets", "para_keys"):
        assert np.array_equal(getattr(back, name), getattr(fp, name)), name


def test_fresh_processes_and_merged_segments_give_the_clusters_of_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dedup.index as index_module
    import dedup.lookup as lookup_module
    import dedup.segments as segments_module
    from dedup import lookup_format

    monkeypatch.setattr(segments_module, "_MERGE_AT", 3)  # merge the batches' segments early
    monkeypatch.setattr(lookup_module, "_WHOLE", 0)  # read by range, a few entries a page
    monkeypatch.setattr(lookup_format, "FENCE", 4)
    monkeypatch.setattr(lookup_module, "_GAP", 0)
    docs = planted_corpus(150, copy_rate=0.6, seed=22).docs
    shuffled = list(docs)
    random.Random(8).shuffle(shuffled)
    batches = [shuffled[k : k + 20] for k in range(0, len(shuffled), 20)]
    for k, batch in enumerate(batches):
        index_module.clear_cache()  # each batch in a new process: only the store is read
        DedupIndex(resolve(str(tmp_path))).update(batch, run_id=f"run{k}")
    assert _groups_from(tmp_path) == _one_pass(docs)
    segments = list(tmp_path.glob("index/*/lookup/*.lookup"))
    assert 0 < len(segments) < len(batches)
    index_module.clear_cache()
    again = DedupIndex(resolve(str(tmp_path))).update(batches[0], run_id="again")
    assert again.new_articles == 0 and again.skipped == len(batches[0])


def test_an_index_without_lookup_segments_is_read_and_given_them(tmp_path: Path) -> None:
    import shutil

    from dedup.index import clear_cache

    docs = planted_corpus(120, copy_rate=0.6, seed=32).docs
    first, later = docs[:100], docs[100:]
    index = DedupIndex(resolve(str(tmp_path)))
    index.update(first, run_id="first")
    for folder in tmp_path.glob("index/*/lookup"):
        shutil.rmtree(folder)  # as an index written before lookup segments existed
    clear_cache()
    update = DedupIndex(resolve(str(tmp_path))).update(later, run_id="later")
    assert update.history_loaded == len(first)
    assert _groups_from(tmp_path) == _one_pass(docs)
    assert list(tmp_path.glob("index/*/lookup/*.lookup"))
    clear_cache()
    assert DedupIndex(resolve(str(tmp_path))).build_lookups() == 0


def test_rows_a_batch_does_not_change_keep_the_run_that_wrote_them(tmp_path: Path) -> None:
    corpus = planted_corpus(40, copy_rate=0.5, seed=10)
    originals = [d for d in corpus.docs if corpus.kind[d.id] == "original"]
    copies = [d for d in corpus.docs if corpus.kind[d.id] != "original"]
    index = DedupIndex(resolve(str(tmp_path)))
    index.update(originals, run_id="one")
    index.update(copies, run_id="two")
    glob = f"{tmp_path}/clusters/**/*.parquet"
    runs = dict(
        duckdb.sql(
            f"select article_id, run_id from read_parquet('{glob}', hive_partitioning=true)"
        ).fetchall()
    )
    joined = {corpus.cluster[c.id] for c in copies} & {d.id for d in originals}
    alone = [d.id for d in originals if d.id not in joined]
    assert alone and all(runs[i] == "one" for i in alone)
    assert joined and all(runs[i] == "two" for i in joined)
